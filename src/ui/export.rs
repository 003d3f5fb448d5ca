//! Downloads from the page: the trace as JSON lines, segment files, and the cluster view as
//! SVG or PNG (the view is the live SVG with the page's stylesheet inlined, so it renders the
//! same outside the app).

use wasm_bindgen::{JsCast, JsValue};

/// Saves `bytes` as `filename` through a temporary object URL.
pub fn download(filename: &str, mime: &str, bytes: &[u8]) -> Result<(), String> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options).map_err(js_error)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(js_error)?;
    let result = click_link(filename, &url);
    let _ = web_sys::Url::revoke_object_url(&url);
    result
}

fn click_link(filename: &str, href: &str) -> Result<(), String> {
    let document = gloo::utils::document();
    let a: web_sys::HtmlAnchorElement = document.create_element("a").map_err(js_error)?.unchecked_into();
    a.set_href(href);
    a.set_download(filename);
    a.click();
    Ok(())
}

fn js_error(e: JsValue) -> String {
    super::js_error_text(&e)
}

/// The cluster view as a standalone SVG document: the live drawing plus every rule of the
/// page's stylesheets (colours follow the viewer's light or dark scheme).
pub fn cluster_svg() -> Result<String, String> {
    let document = gloo::utils::document();
    let svg =
        document.query_selector("[data-testid=\"cluster\"]").map_err(js_error)?.ok_or("no cluster view on the page")?;
    let sheets = document.style_sheets();
    let mut css = String::new();
    for i in 0..sheets.length() {
        let Some(sheet) = sheets.item(i).and_then(|s| s.dyn_into::<web_sys::CssStyleSheet>().ok()) else { continue };
        let Ok(rules) = sheet.css_rules() else { continue };
        for j in 0..rules.length() {
            if let Some(rule) = rules.item(j) {
                css.push_str(&rule.css_text());
                css.push('\n');
            }
        }
    }
    let html = svg.outer_html();
    let open_end = html.find('>').ok_or("malformed SVG")?;
    let background = "<rect width=\"100%\" height=\"100%\" style=\"fill: var(--panel)\"/>";
    Ok(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}><style>{}</style>{background}{}",
        &html[..open_end],
        css.replace("]]>", "]] >"),
        &html[open_end + 1..]
    ))
}

/// Renders the cluster SVG to a PNG at twice the canvas size and saves it.
pub fn save_cluster_png(filename: String) {
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(e) = render_png(&filename).await {
            web_sys::console::warn_1(&JsValue::from_str(&format!("PNG export failed: {e}")));
        }
    });
}

async fn render_png(filename: &str) -> Result<(), String> {
    use crate::ui::layout::{HEIGHT, WIDTH};
    let svg = cluster_svg()?;
    let parts = js_sys::Array::of1(&JsValue::from_str(&svg));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("image/svg+xml");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options).map_err(js_error)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(js_error)?;
    let image = web_sys::HtmlImageElement::new().map_err(js_error)?;
    image.set_src(&url);
    let decoded = wasm_bindgen_futures::JsFuture::from(image.decode()).await;
    let _ = web_sys::Url::revoke_object_url(&url);
    decoded.map_err(js_error)?;
    let document = gloo::utils::document();
    let canvas: web_sys::HtmlCanvasElement = document.create_element("canvas").map_err(js_error)?.unchecked_into();
    let scale = 2.0;
    canvas.set_width((WIDTH * scale) as u32);
    canvas.set_height((HEIGHT * scale) as u32);
    let ctx: web_sys::CanvasRenderingContext2d =
        canvas.get_context("2d").map_err(js_error)?.ok_or("no 2d context")?.unchecked_into();
    ctx.draw_image_with_html_image_element_and_dw_and_dh(&image, 0.0, 0.0, WIDTH * scale, HEIGHT * scale)
        .map_err(js_error)?;
    let data_url = canvas.to_data_url_with_type("image/png").map_err(js_error)?;
    click_link(filename, &data_url)
}
