//! The app mounted in headless Chromium: controls, keyboard and the simulated clock.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement};

wasm_bindgen_test_configure!(run_in_browser);

async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window().unwrap().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms).unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}

fn mount() -> Element {
    let document = gloo::utils::document();
    let root = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&root).unwrap();
    yew::Renderer::<brokerscope::ui::App>::with_root(root.clone()).render();
    root
}

fn q(root: &Element, testid: &str) -> Element {
    root.query_selector(&format!("[data-testid=\"{testid}\"]")).unwrap().unwrap_or_else(|| panic!("no {testid}"))
}

fn now_ns(root: &Element) -> u64 {
    q(root, "clock").get_attribute("data-now-ns").unwrap().parse().unwrap()
}

fn click(root: &Element, testid: &str) {
    q(root, testid).dyn_into::<HtmlElement>().unwrap().click();
}

#[wasm_bindgen_test]
async fn controls_step_play_and_pause_the_clock() {
    let root = mount();
    yew::scheduler::flush().await;
    assert_eq!(now_ns(&root), 0);
    assert_eq!(q(&root, "scenario-name").text_content().unwrap(), "Hello Kafka");
    assert_eq!(root.query_selector_all("[data-testid^=\"broker-\"]").unwrap().length(), 3);

    click(&root, "step");
    yew::scheduler::flush().await;
    assert!(q(&root, "event-log").query_selector_all("li").unwrap().length() >= 1, "a step records events");

    click(&root, "play");
    yew::scheduler::flush().await;
    assert!(q(&root, "play").text_content().unwrap().contains("Pause"));
    sleep_ms(400).await;
    yew::scheduler::flush().await;
    let played = now_ns(&root);
    assert!(played > 0, "the clock advanced while playing");

    click(&root, "play");
    yew::scheduler::flush().await;
    let paused = now_ns(&root);
    sleep_ms(200).await;
    yew::scheduler::flush().await;
    assert_eq!(now_ns(&root), paused, "paused clock stays put");

    let keydown = web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &{
        let init = web_sys::KeyboardEventInit::new();
        init.set_key("ArrowRight");
        init.set_bubbles(true);
        init
    })
    .unwrap();
    let before = q(&root, "app").get_attribute("data-version").unwrap();
    gloo::utils::window().dispatch_event(&keydown).unwrap();
    yew::scheduler::flush().await;
    assert_ne!(q(&root, "app").get_attribute("data-version").unwrap(), before, "→ steps");
}
