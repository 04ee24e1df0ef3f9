//! The page's small platform helpers, shared by the cells: the clock, fetching bytes, offering a
//! download, and turning JavaScript errors into text.

use leptos::prelude::window;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::Response;

/// Milliseconds since the page loaded (`performance.now()`; NaN without a performance clock).
pub fn now_ms() -> f64 {
    window().performance().map(|p| p.now()).unwrap_or(f64::NAN)
}

/// The message of a JavaScript error value.
pub fn js_text(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}

/// The body of `url`, or a message naming the URL and what went wrong.
pub async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    let response = JsFuture::from(window().fetch_with_str(url)).await.map_err(|e| format!("{url}: {}", js_text(&e)))?;
    let response: Response = response.dyn_into().map_err(|_| format!("{url}: the fetch did not give a response"))?;
    if !response.ok() {
        return Err(format!("{url}: HTTP {} {}", response.status(), response.status_text()));
    }
    let promise = response.array_buffer().map_err(|e| format!("{url}: {}", js_text(&e)))?;
    let buffer = JsFuture::from(promise).await.map_err(|e| format!("{url}: {}", js_text(&e)))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// Offers `value` as a pretty-printed JSON file download.
pub fn download_json(value: &serde_json::Value, file_name: &str) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    download(text.as_bytes(), file_name, "application/json")
}

/// Offers `bytes` to the user as a file download.
pub fn download(bytes: &[u8], file_name: &str, mime: &str) -> Result<(), String> {
    let array = js_sys::Uint8Array::from(bytes);
    let parts = js_sys::Array::of1(&array);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options).map_err(|e| format!("{e:?}"))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|e| format!("{e:?}"))?;
    let anchor: web_sys::HtmlAnchorElement =
        leptos::prelude::document().create_element("a").map_err(|e| format!("{e:?}"))?.unchecked_into();
    anchor.set_href(&url);
    anchor.set_download(file_name);
    anchor.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}
