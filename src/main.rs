//! `convscope-app`: the convscope window natively, the page's entry point on the web.

/// Maps aligned to cache lines, natively and on the web (see `convscope_cpu::alloc`).
#[global_allocator]
static ALLOCATOR: convscope_cpu::alloc::CacheAligned = convscope_cpu::alloc::CacheAligned;

#[cfg(not(target_arch = "wasm32"))]
fn main() -> eframe::Result {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default().with_title("convscope").with_inner_size([1280.0, 800.0]),
        wgpu_options: convscope::wgpu_options(),
        ..Default::default()
    };
    eframe::run_native(
        "convscope",
        options,
        Box::new(|cc| Ok(Box::new(convscope::ConvscopeApp::new(cc, &Default::default())))),
    )
}

#[cfg(target_arch = "wasm32")]
fn main() {
    wasm_bindgen_futures::spawn_local(convscope::start_web());
}
