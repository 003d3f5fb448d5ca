//! A `requestAnimationFrame` loop: one tick per displayed frame, so the simulation never runs
//! twice between two paints (a `setInterval` drifting against the display did, dropping frames).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

type FrameFn = Closure<dyn FnMut(f64)>;

/// A running loop; dropping it cancels the next frame and frees the callback.
pub struct FrameLoop {
    callback: Rc<RefCell<Option<FrameFn>>>,
    pending: Rc<Cell<Option<i32>>>,
}

impl FrameLoop {
    /// Calls `tick(timestamp_ms)` every frame until it returns false or the loop is dropped.
    pub fn start(mut tick: impl FnMut(f64) -> bool + 'static) -> FrameLoop {
        let callback: Rc<RefCell<Option<FrameFn>>> = Rc::default();
        let pending: Rc<Cell<Option<i32>>> = Rc::default();
        let (again, pending2) = (Rc::downgrade(&callback), pending.clone());
        *callback.borrow_mut() = Some(Closure::new(move |now: f64| {
            pending2.set(None);
            if tick(now) {
                if let Some(cb) = again.upgrade() {
                    pending2.set(request(cb.borrow().as_ref()));
                }
            }
        }));
        pending.set(request(callback.borrow().as_ref()));
        FrameLoop { callback, pending }
    }
}

fn request(callback: Option<&FrameFn>) -> Option<i32> {
    let window = web_sys::window()?;
    window.request_animation_frame(callback?.as_ref().unchecked_ref()).ok()
}

impl Drop for FrameLoop {
    fn drop(&mut self) {
        if let (Some(id), Some(window)) = (self.pending.take(), web_sys::window()) {
            let _ = window.cancel_animation_frame(id);
        }
        // Yew runs effect cleanups after the frame callback has returned, so this never frees
        // the closure while it runs.
        self.callback.borrow_mut().take();
    }
}
