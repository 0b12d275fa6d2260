//! The web front end: probe WebGPU, start eframe on the page's canvas, and report the chosen backend to
//! the page (`data-backend`, `data-adapter`, `data-fallback-reason` on `<html>`, and the title) so that
//! users see it in the tab and the end-to-end tests can read it.

use wasm_bindgen::{JsCast as _, JsValue};

use crate::compute_status::WebGpuProbe;
use crate::{ComputeStatus, ConvscopeApp};

/// Set by `window.convscopeLoseDevice()`: destroy the GPU device at the next frame, as a driver reset
/// would, so scripts and the end-to-end tests can check that the CPU engine takes over.
pub static LOSE_DEVICE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The address's fragment after the user (or a script) changed it: the app opens it at the next frame.
pub static NEW_FRAGMENT: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

fn listen_for_hash_changes() {
    let Some(window) = web_sys::window() else { return };
    let handler = wasm_bindgen::closure::Closure::<dyn Fn()>::new(move || {
        let hash = web_sys::window().and_then(|w| w.location().hash().ok()).unwrap_or_default();
        if let Ok(mut slot) = NEW_FRAGMENT.lock() {
            *slot = Some(hash);
        }
        request_repaint();
    });
    window.add_event_listener_with_callback("hashchange", handler.as_ref().unchecked_ref()).ok();
    // The listener lives as long as the page.
    handler.forget();
}

/// Compile every kernel with the browser's WGSL compiler once at start-up; the page says how it went
/// (`data-shader-check`: `ok` or the errors), and errors are logged.
fn check_shaders(cc: &eframe::CreationContext<'_>) {
    let Some(render_state) = cc.wgpu_render_state.as_ref() else { return };
    if render_state.adapter.get_info().backend != convscope_gpu::wgpu::Backend::BrowserWebGpu {
        return;
    }
    let device = render_state.device.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let errors = convscope_gpu::pipelines::compile_all(&device).await;
        log::info!("shader check: {} errors", errors.len());
        if errors.is_empty() {
            set_root_attribute("data-shader-check", "ok");
        } else {
            log::error!("shaders that do not compile here: {}", errors.join("; "));
            set_root_attribute("data-shader-check", &errors.join("; "));
        }
    });
}

/// Set by `window.convscopeRerun()`: run the current photo again (benchmark scripts time repeated runs).
pub static RERUN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn expose_rerun_hook() {
    let Some(window) = web_sys::window() else { return };
    let hook = wasm_bindgen::closure::Closure::<dyn Fn()>::new(move || {
        RERUN.store(true, std::sync::atomic::Ordering::Relaxed);
        request_repaint();
    });
    js_sys::Reflect::set(&window, &JsValue::from_str("convscopeRerun"), hook.as_ref()).ok();
    hook.forget();
}

fn expose_device_loss_hook() {
    let Some(window) = web_sys::window() else { return };
    let hook = wasm_bindgen::closure::Closure::<dyn Fn()>::new(move || {
        LOSE_DEVICE.store(true, std::sync::atomic::Ordering::Relaxed);
        request_repaint();
    });
    js_sys::Reflect::set(&window, &JsValue::from_str("convscopeLoseDevice"), hook.as_ref()).ok();
    // The hook lives as long as the page.
    hook.forget();
}

/// Start the app on `<canvas id="the_canvas_id">`. Errors are shown on the page, never swallowed.
pub async fn start() {
    eframe::WebLogger::init(log::LevelFilter::Info).ok();
    let web_probe = probe_webgpu().await;
    log::info!("WebGPU probe: {web_probe:?}");

    let result = start_eframe(web_probe).await;
    if let Err(message) = result {
        log::error!("convscope failed to start: {message}");
        set_root_attribute("data-backend", "error");
        show_loading_text(&format!("convscope failed to start: {message}"));
    } else {
        hide_loading_text();
    }
}

thread_local! {
    /// The eframe runner drawing the page (replaced when a lost device makes the page restart).
    static RUNNER: std::cell::RefCell<Option<eframe::WebRunner>> = const { std::cell::RefCell::new(None) };
    /// The context of the running eframe, for the page's listeners to wake it.
    static CONTEXT: std::cell::RefCell<Option<egui::Context>> = const { std::cell::RefCell::new(None) };
}

/// Wake the running app (from a page event).
fn request_repaint() {
    CONTEXT.with_borrow(|ctx| {
        if let Some(ctx) = ctx {
            ctx.request_repaint();
        }
    });
}

fn canvas() -> Result<web_sys::HtmlCanvasElement, String> {
    let document = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    document
        .get_element_by_id("the_canvas_id")
        .ok_or("the page has no <canvas id=\"the_canvas_id\">")?
        .dyn_into::<web_sys::HtmlCanvasElement>()
        .map_err(|_| "#the_canvas_id is not a <canvas>".to_owned())
}

async fn start_eframe(web_probe: WebGpuProbe) -> Result<(), String> {
    let web_options = eframe::WebOptions { wgpu_options: crate::wgpu_options(), ..Default::default() };
    let runner = eframe::WebRunner::new();
    let started = runner
        .start(
            canvas()?,
            web_options,
            Box::new(move |cc| {
                let mut app = ConvscopeApp::new(cc, &web_probe);
                CONTEXT.set(Some(cc.egui_ctx.clone()));
                listen_for_pasted_images(&app.inference.inbox);
                listen_for_dropped_files(&app.inference.inbox);
                listen_for_hash_changes();
                expose_device_loss_hook();
                expose_rerun_hook();
                check_shaders(cc);
                if let Some(hash) = web_sys::window().and_then(|w| w.location().hash().ok()) {
                    app.open_link(&hash);
                }
                Ok(Box::new(app))
            }),
        )
        .await
        .map_err(|err| js_error_text(&err));
    RUNNER.set(Some(runner));
    started
}

/// The GPU device the page was drawn with is gone, and eframe cannot draw without it: stop that
/// eframe, put a fresh canvas in place and start eframe again drawing with WebGL2, handing it `app`
/// (its view, photo and results; computing on the CPU from now on).
pub fn restart_without_gpu(app: ConvscopeApp) {
    wasm_bindgen_futures::spawn_local(async move {
        if let Some(old) = RUNNER.take() {
            old.destroy();
        }
        let fresh = match replace_canvas() {
            Ok(canvas) => canvas,
            Err(e) => {
                show_loading_text(&format!("the GPU device was lost and the page could not restart: {e}"));
                return;
            }
        };
        let mut setup = eframe::egui_wgpu::WgpuSetupCreateNew::without_display_handle();
        setup.instance_descriptor.backends = convscope_gpu::wgpu::Backends::GL;
        let options = eframe::WebOptions {
            wgpu_options: eframe::egui_wgpu::WgpuConfiguration { wgpu_setup: setup.into(), ..Default::default() },
            ..Default::default()
        };
        let runner = eframe::WebRunner::new();
        let started = runner
            .start(
                fresh,
                options,
                Box::new(move |cc| {
                    let mut app = app;
                    app.adopt(&cc.egui_ctx);
                    CONTEXT.set(Some(cc.egui_ctx.clone()));
                    Ok(Box::new(app))
                }),
            )
            .await;
        if let Err(err) = started {
            show_loading_text(&format!(
                "the GPU device was lost and the page could not restart: {}",
                js_error_text(&err)
            ));
        }
        RUNNER.set(Some(runner));
    });
}

/// A new `<canvas id="the_canvas_id">` in place of the old one (a canvas keeps the kind of context it
/// was first given, and the old one had WebGPU's).
fn replace_canvas() -> Result<web_sys::HtmlCanvasElement, String> {
    let old = canvas()?;
    let document = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let fresh: web_sys::HtmlCanvasElement =
        document.create_element("canvas").map_err(|e| js_error_text(&e))?.dyn_into().map_err(|_| "not a canvas")?;
    fresh.set_id("the_canvas_id");
    old.replace_with_with_node_1(&fresh).map_err(|e| js_error_text(&e))?;
    Ok(fresh)
}

/// Ask the browser directly what WebGPU it offers, to explain a fallback and to name the adapter
/// (wgpu only sees `GPUAdapterInfo.description`, which browsers often leave empty).
async fn probe_webgpu() -> WebGpuProbe {
    let Some(window) = web_sys::window() else { return WebGpuProbe::NoNavigatorGpu };
    let gpu = js_sys::Reflect::get(&window.navigator(), &JsValue::from_str("gpu")).unwrap_or(JsValue::UNDEFINED);
    if gpu.is_undefined() || gpu.is_null() {
        return WebGpuProbe::NoNavigatorGpu;
    }
    let Ok(request) = js_sys::Reflect::get(&gpu, &JsValue::from_str("requestAdapter")) else {
        return WebGpuProbe::NoNavigatorGpu;
    };
    let Some(request) = request.dyn_ref::<js_sys::Function>() else { return WebGpuProbe::NoNavigatorGpu };
    let Ok(promise) = request.call0(&gpu).and_then(|p| p.dyn_into::<js_sys::Promise>()) else {
        return WebGpuProbe::NoAdapter;
    };
    let adapter = wasm_bindgen_futures::JsFuture::from(promise).await.unwrap_or(JsValue::NULL);
    if adapter.is_null() || adapter.is_undefined() {
        return WebGpuProbe::NoAdapter;
    }
    let info = js_sys::Reflect::get(&adapter, &JsValue::from_str("info")).unwrap_or(JsValue::UNDEFINED);
    let field = |name: &str| {
        js_sys::Reflect::get(&info, &JsValue::from_str(name)).ok().and_then(|v| v.as_string()).unwrap_or_default()
    };
    let mut parts: Vec<String> = ["vendor", "architecture", "description"]
        .iter()
        .map(|name| field(name))
        .filter(|part| !part.is_empty())
        .collect();
    parts.dedup();
    let description = if parts.is_empty() { "unnamed WebGPU adapter".to_owned() } else { parts.join(" ") };
    // `GPUAdapterInfo.isFallbackAdapter` (Chrome 136+), else the older `GPUAdapter.isFallbackAdapter`.
    let flag = |object: &JsValue| {
        js_sys::Reflect::get(object, &JsValue::from_str("isFallbackAdapter")).ok().and_then(|v| v.as_bool())
    };
    let software =
        flag(&info).or_else(|| flag(&adapter)).unwrap_or(false) || description.to_lowercase().contains("swiftshader");
    WebGpuProbe::Adapter { description, software }
}

/// Writes the compute status into the page whenever it changes.
#[derive(Default)]
pub struct PageReport {
    last: Option<ComputeStatus>,
    last_link: String,
    last_result: Option<u64>,
    last_insight: Option<String>,
    last_message: Option<crate::inference::Message>,
}

impl PageReport {
    pub fn report(&mut self, status: &ComputeStatus) {
        if self.last.as_ref() == Some(status) {
            return;
        }
        set_root_attribute("data-backend", status.key());
        match status {
            ComputeStatus::Gpu(summary) => {
                set_root_attribute("data-adapter", &summary.short());
                remove_root_attribute("data-fallback-reason");
                set_title(&format!("convscope · WebGPU · {}", summary.name));
            }
            ComputeStatus::CpuFallback { reason } => {
                remove_root_attribute("data-adapter");
                set_root_attribute("data-fallback-reason", reason);
                set_title("convscope · CPU fallback");
            }
        }
        self.last = Some(status.clone());
    }

    /// The latest run, for scripts and the end-to-end tests: `data-top1`, `data-top1-probability`,
    /// `data-run-model`, `data-run-ms` (compute), `data-run-wall-ms` (start to result), `data-engine`
    /// (`webgpu` or `cpu`: the engine that produced it), `data-weights`, `data-run-photo` (the photo's
    /// file name), `data-wasm-bytes` (the module's memory then: endurance tests watch it),
    /// `data-heap-bytes` (what the program holds of it: `convscope_cpu::alloc::live_bytes`), and
    /// `data-run-id`, which changes with every result.
    pub fn report_result(&mut self, inference: &crate::inference::Inference) {
        let Some(result) = &inference.result else { return };
        if self.last_result == Some(result.id) {
            return;
        }
        let classes = convscope_zoo::imagenet_classes();
        if let Some((class, p)) = result.top.first() {
            set_root_attribute("data-top1", classes.get(*class).copied().unwrap_or("?"));
            set_root_attribute("data-top1-probability", &format!("{p:.4}"));
        }
        set_root_attribute("data-run-model", result.key.id);
        set_root_attribute("data-run-ms", &format!("{:.0}", result.millis));
        set_root_attribute("data-run-wall-ms", &format!("{:.0}", result.wall_ms));
        set_root_attribute("data-engine", result.backend().id());
        set_root_attribute("data-weights", if result.weights.trained() { "pretrained" } else { "untrained" });
        match &result.fallback {
            Some(why) => set_root_attribute("data-engine-fallback", why),
            None => remove_root_attribute("data-engine-fallback"),
        }
        match inference.photo_name_of(result) {
            Some(name) => set_root_attribute("data-run-photo", name),
            None => remove_root_attribute("data-run-photo"),
        }
        if let Ok(memory) = wasm_bindgen::memory().dyn_into::<js_sys::WebAssembly::Memory>() {
            let bytes = memory.buffer().unchecked_into::<js_sys::ArrayBuffer>().byte_length();
            set_root_attribute("data-wasm-bytes", &bytes.to_string());
        }
        set_root_attribute("data-heap-bytes", &convscope_cpu::alloc::live_bytes().to_string());
        set_root_attribute("data-run-id", &result.id.to_string());
        // Both engines on the same model and photo: the largest logit difference over the largest logit.
        match inference.other.as_ref().filter(|o| o.key == result.key && o.photo == result.photo) {
            Some(other) => {
                let (a, b) = (&result.outputs.output.data, &other.outputs.output.data);
                let diff = a.iter().zip(b.iter()).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
                let largest = a.iter().chain(b.iter()).fold(0.0f32, |m, v| m.max(v.abs()));
                set_root_attribute("data-compare-relative", &format!("{:e}", diff / largest.max(1e-30)));
                set_root_attribute(
                    "data-compare-engines",
                    &format!("{},{}", other.backend().id(), result.backend().id()),
                );
            }
            None => {
                remove_root_attribute("data-compare-relative");
                remove_root_attribute("data-compare-engines");
            }
        }
        self.last_result = Some(result.id);
    }

    /// Keep the address bar's fragment equal to the current view, so the address can be shared.
    /// `data-insight`: the numbers the open insight view shows (for scripts and the browser test).
    pub fn report_insight(&mut self, insight: Option<&str>) {
        if self.last_insight.as_deref() == insight {
            return;
        }
        match insight {
            Some(text) => set_root_attribute("data-insight", text),
            None => remove_root_attribute("data-insight"),
        }
        self.last_insight = insight.map(str::to_owned);
    }

    /// `data-message` and `data-message-kind` (`error`, `warning`, `info`): the message the page shows
    /// about the latest file or run (a refused photo or checkpoint says why here and on screen).
    pub fn report_message(&mut self, message: Option<&crate::inference::Message>) {
        if self.last_message.as_ref() == message {
            return;
        }
        match message {
            Some(m) => {
                set_root_attribute("data-message", &m.text);
                set_root_attribute("data-message-kind", m.kind.name());
            }
            None => {
                remove_root_attribute("data-message");
                remove_root_attribute("data-message-kind");
            }
        }
        self.last_message = message.cloned();
    }

    pub fn report_link(&mut self, link: &str) {
        if self.last_link == link {
            return;
        }
        if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
            history.replace_state_with_url(&JsValue::NULL, "", Some(&format!("#{link}"))).ok();
        }
        set_root_attribute("data-model", link);
        link.clone_into(&mut self.last_link);
    }
}

fn root() -> Option<web_sys::Element> {
    web_sys::window()?.document()?.document_element()
}

fn set_root_attribute(name: &str, value: &str) {
    if let Some(root) = root() {
        root.set_attribute(name, value).ok();
    }
}

fn remove_root_attribute(name: &str) {
    if let Some(root) = root() {
        root.remove_attribute(name).ok();
    }
}

fn set_title(title: &str) {
    if let Some(document) = web_sys::window().and_then(|w| w.document()) {
        document.set_title(title);
    }
}

fn loading_text() -> Option<web_sys::HtmlElement> {
    web_sys::window()?.document()?.get_element_by_id("loading_text")?.dyn_into().ok()
}

fn show_loading_text(text: &str) {
    if let Some(element) = loading_text() {
        element.set_inner_text(text);
    }
}

fn hide_loading_text() {
    if let Some(element) = loading_text() {
        element.remove();
    }
}

fn js_error_text(err: &JsValue) -> String {
    err.as_string()
        .or_else(|| err.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())))
        .unwrap_or_else(|| format!("{err:?}"))
}

/// Start a browser download of `contents` named `file_name` (a Blob URL on a temporary `<a download>`).
pub fn download(file_name: &str, mime: &str, contents: &str) -> Result<(), String> {
    let document = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let parts = js_sys::Array::of1(&JsValue::from_str(contents));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options).map_err(|e| js_error_text(&e))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|e| js_error_text(&e))?;
    let anchor: web_sys::HtmlAnchorElement =
        document.create_element("a").map_err(|e| js_error_text(&e))?.dyn_into().map_err(|_| "not an <a>")?;
    anchor.set_href(&url);
    anchor.set_download(file_name);
    anchor.click();
    web_sys::Url::revoke_object_url(&url).ok();
    Ok(())
}

/// Offer `contents` to the browser as a file download (binary).
pub fn download_bytes(file_name: &str, mime: &str, contents: &[u8]) -> Result<(), String> {
    let document = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(contents));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob =
        web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options).map_err(|e| js_error_text(&e))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|e| js_error_text(&e))?;
    let anchor: web_sys::HtmlAnchorElement =
        document.create_element("a").map_err(|e| js_error_text(&e))?.dyn_into().map_err(|_| "not an <a>")?;
    anchor.set_href(&url);
    anchor.set_download(file_name);
    anchor.click();
    web_sys::Url::revoke_object_url(&url).ok();
    Ok(())
}

/// GET `url` (same origin) and return its bytes, or the reason it failed.
pub async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    let window = web_sys::window().ok_or("no window")?;
    let response = wasm_bindgen_futures::JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|e| format!("{url}: {}", js_error_text(&e)))?;
    let response: web_sys::Response = response.dyn_into().map_err(|_| format!("{url}: not a response"))?;
    if !response.ok() {
        return Err(format!("{url}: HTTP {} {}", response.status(), response.status_text()));
    }
    let buffer = response.array_buffer().map_err(|e| js_error_text(&e))?;
    let buffer = wasm_bindgen_futures::JsFuture::from(buffer).await.map_err(|e| js_error_text(&e))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// Read a `File` (from the picker, a paste or a drop) into the photo inbox.
pub fn read_file_into(file: web_sys::File, ctx: egui::Context, inbox: crate::assets::Inbox) {
    let name = file.name();
    wasm_bindgen_futures::spawn_local(async move {
        // Refused above the app's limit before reading.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let result = if let Some(refused) = crate::assets::too_large(file.size() as u64, crate::assets::MAX_FILE_BYTES)
        {
            Err(refused)
        } else {
            match wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await {
                Ok(buffer) => Ok(js_sys::Uint8Array::new(&buffer).to_vec()),
                Err(e) => Err(js_error_text(&e)),
            }
        };
        if let Ok(mut queue) = inbox.lock() {
            queue.push((name, result));
        }
        ctx.request_repaint();
    });
}

/// Photos of more pixels than this are decoded by the browser, off the page's thread, instead of by
/// the `image` crate on it: a 12-megapixel JPEG takes about a quarter of a second to decode in wasm, a
/// 50-megapixel one over a second, with no frame painted meanwhile.
pub const BROWSER_DECODE_PIXELS: u64 = 12_000_000;
/// The longer side such a photo is reduced to as the browser decodes it (every model resizes the short
/// side to at most 600 pixels, so the reduction changes a network's input only by the filter's rounding).
pub const BROWSER_DECODE_SIDE: u32 = 2048;

/// Decode a large photo with the browser's `createImageBitmap` (decoded and reduced on the browser's
/// decoding threads while the page keeps painting), then read its pixels; the result goes to `inbox`.
pub fn decode_in_browser(
    name: String,
    bytes: Vec<u8>,
    header: convscope_input::Header,
    ctx: egui::Context,
    inbox: crate::assets::DecodedInbox,
) {
    wasm_bindgen_futures::spawn_local(async move {
        let result = browser_decode(&bytes, header).await;
        drop(bytes);
        if let Ok(mut queue) = inbox.lock() {
            queue.push((name, result));
        }
        ctx.request_repaint();
    });
}

async fn browser_decode(bytes: &[u8], header: convscope_input::Header) -> Result<convscope_input::Photo, String> {
    let longer = header.width.max(header.height).max(1);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let reduce = |side: u32| {
        ((u64::from(side) * u64::from(BROWSER_DECODE_SIDE) + u64::from(longer) / 2) / u64::from(longer)).max(1) as u32
    };
    let (width, height) = if longer > BROWSER_DECODE_SIDE {
        (reduce(header.width), reduce(header.height))
    } else {
        (header.width, header.height)
    };
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let blob = web_sys::Blob::new_with_u8_array_sequence(&parts).map_err(|e| js_error_text(&e))?;
    // As `convscope_input::decode` reads pixels: stored values (no colour management), not premultiplied,
    // upright per the EXIF orientation (the requested size is the upright one).
    let options = web_sys::ImageBitmapOptions::new();
    options.set_resize_width(width);
    options.set_resize_height(height);
    options.set_resize_quality(web_sys::ResizeQuality::High);
    options.set_color_space_conversion(web_sys::ColorSpaceConversion::None);
    options.set_premultiply_alpha(web_sys::PremultiplyAlpha::None);
    options.set_image_orientation(web_sys::ImageOrientation::FromImage);
    let window = web_sys::window().ok_or("no browser window")?;
    let promise = window
        .create_image_bitmap_with_blob_and_image_bitmap_options(&blob, &options)
        .map_err(|e| js_error_text(&e))?;
    let bitmap: web_sys::ImageBitmap = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map_err(|e| format!("the browser could not decode it: {}", js_error_text(&e)))?
        .dyn_into()
        .map_err(|_| "the browser returned no picture".to_owned())?;
    let (w, h) = (bitmap.width(), bitmap.height());
    let canvas = web_sys::OffscreenCanvas::new(w, h).map_err(|e| js_error_text(&e))?;
    let context: web_sys::OffscreenCanvasRenderingContext2d = canvas
        .get_context("2d")
        .map_err(|e| js_error_text(&e))?
        .ok_or("the browser has no 2D canvas")?
        .dyn_into()
        .map_err(|_| "the browser has no 2D canvas".to_owned())?;
    context.draw_image_with_image_bitmap(&bitmap, 0.0, 0.0).map_err(|e| js_error_text(&e))?;
    bitmap.close();
    let data = context.get_image_data(0.0, 0.0, f64::from(w), f64::from(h)).map_err(|e| js_error_text(&e))?.data();
    let warning = format!(
        "a {} × {} photo: decoded by the browser and reduced to {w} × {h} before the model's own resize",
        header.width, header.height
    );
    convscope_input::Photo::from_rgba(w, h, &data.0, header.format, Some(warning))
        .ok_or_else(|| "the browser's pixels do not match the picture's size".to_owned())
}

/// Open the browser's file picker for an image; the chosen file goes to the photo inbox.
pub fn pick_image(ctx: &egui::Context, inbox: &crate::assets::Inbox) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
    let Ok(input) =
        document.create_element("input").and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().map_err(JsValue::from))
    else {
        return;
    };
    input.set_type("file");
    input.set_accept("image/png,image/jpeg,image/webp,image/gif,image/bmp,.pth,.pt,.bin,.safetensors");
    let (ctx, inbox, picker) = (ctx.clone(), inbox.clone(), input.clone());
    let on_change = wasm_bindgen::closure::Closure::once_into_js(move || {
        if let Some(file) = picker.files().and_then(|files| files.get(0)) {
            read_file_into(file, ctx, inbox);
        }
    });
    input.set_onchange(Some(on_change.unchecked_ref()));
    input.click();
}

/// Set when files were dropped on the page (the app opens the Run view).
pub static DROPPED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Files dragged onto the page are taken before eframe sees them (listeners on the window, capture
/// phase), and a dropped file is read at once. eframe would turn each drag event into a frame (and egui
/// asks for one more after any input), and the file would be read only from the first of them: with
/// software rendering every frame holds the page for 120–170 ms, which is what a drop waited for. The
/// app uses no hover feedback of egui's, so nothing is lost; the frame that shows the photo is the one
/// its bytes ask for.
pub fn listen_for_dropped_files(inbox: &crate::assets::Inbox) {
    let Some(window) = web_sys::window() else { return };
    let carries_files = |event: &web_sys::DragEvent| {
        event.data_transfer().is_some_and(|t| t.types().iter().any(|k| k.as_string().as_deref() == Some("Files")))
    };
    let hover =
        wasm_bindgen::closure::Closure::<dyn FnMut(web_sys::DragEvent)>::new(move |event: web_sys::DragEvent| {
            if carries_files(&event) {
                // Without this the browser would open the file in place of the page.
                event.prevent_default();
                event.stop_propagation();
                if let Some(transfer) = event.data_transfer() {
                    transfer.set_drop_effect("copy");
                }
            }
        });
    let inbox = inbox.clone();
    let drop =
        wasm_bindgen::closure::Closure::<dyn FnMut(web_sys::DragEvent)>::new(move |event: web_sys::DragEvent| {
            let Some(files) = event.data_transfer().and_then(|t| t.files()) else { return };
            event.prevent_default();
            event.stop_propagation();
            let Some(ctx) = CONTEXT.with_borrow(Clone::clone) else { return };
            for file in (0..files.length()).filter_map(|i| files.get(i)) {
                DROPPED.store(true, std::sync::atomic::Ordering::Relaxed);
                read_file_into(file, ctx.clone(), inbox.clone());
            }
        });
    for kind in ["dragenter", "dragover", "dragleave"] {
        window.add_event_listener_with_callback_and_bool(kind, hover.as_ref().unchecked_ref(), true).ok();
    }
    window.add_event_listener_with_callback_and_bool("drop", drop.as_ref().unchecked_ref(), true).ok();
    // The listeners live as long as the page.
    hover.forget();
    drop.forget();
}

/// Images pasted anywhere on the page go to the photo inbox.
pub fn listen_for_pasted_images(inbox: &crate::assets::Inbox) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
    let inbox = inbox.clone();
    let handler = wasm_bindgen::closure::Closure::<dyn FnMut(web_sys::ClipboardEvent)>::new(
        move |event: web_sys::ClipboardEvent| {
            let Some(files) = event.clipboard_data().and_then(|data| data.files()) else { return };
            if let Some(file) =
                (0..files.length()).filter_map(|i| files.get(i)).find(|f| f.type_().starts_with("image/"))
                && let Some(ctx) = CONTEXT.with_borrow(Clone::clone)
            {
                read_file_into(file, ctx, inbox.clone());
            }
        },
    );
    document.add_event_listener_with_callback("paste", handler.as_ref().unchecked_ref()).ok();
    // The listener lives as long as the page.
    handler.forget();
}
