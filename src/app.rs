//! The app state and the frame loop: one [`ConvscopeApp`] shared by the native and web front ends.

use convscope_gpu::GpuContext;

use crate::compute_status::{self, ComputeStatus, WebGpuProbe};
use crate::model_view::ModelView;
use crate::panels;

/// The central area's tabs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    Build,
    Layers,
    Run,
    Ghost,
    Shuffle,
    Separable,
    Swap,
    Compare,
    About,
}

impl Tab {
    pub const ALL: [Self; 9] = [
        Self::Build,
        Self::Layers,
        Self::Run,
        Self::Ghost,
        Self::Shuffle,
        Self::Separable,
        Self::Swap,
        Self::Compare,
        Self::About,
    ];

    /// The name in links.
    pub fn name(self) -> &'static str {
        match self {
            Self::Build => "build",
            Self::Layers => "layers",
            Self::Run => "run",
            Self::Ghost => "ghost",
            Self::Shuffle => "shuffle",
            Self::Separable => "dsc",
            Self::Swap => "swap",
            Self::Compare => "compare",
            Self::About => "about",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|tab| tab.name() == name)
    }

    fn title(self) -> &'static str {
        match self {
            Self::Build => "Build",
            Self::Layers => "Layers",
            Self::Run => "Run",
            Self::Ghost => "Ghost lab",
            Self::Shuffle => "Shuffle",
            Self::Separable => "Depthwise separable",
            Self::Swap => "Conv swap",
            Self::Compare => "Compare",
            Self::About => "About",
        }
    }
}

/// The whole app. Panels get borrowed pieces of it; nothing here knows wgpu beyond holding the context.
pub struct ConvscopeApp {
    status: ComputeStatus,
    /// The device kernels run on: eframe's own, when it can compute.
    gpu: Option<GpuContext>,
    /// eframe's renderer, to hand it textures the GPU painted (feature maps of a GPU run).
    render_state: Option<eframe::egui_wgpu::RenderState>,
    show_backend_window: bool,
    show_architecture: bool,
    show_inspector: bool,
    /// The model being looked at.
    pub view: ModelView,
    pub tab: Tab,
    table: panels::TableState,
    /// The photo, the run and its results.
    pub inference: crate::inference::Inference,
    maps: panels::MapsState,
    pub ghost_lab: panels::GhostLabState,
    pub shuffle_lab: panels::ShuffleLabState,
    pub separable_lab: panels::SeparableLabState,
    pub swap_lab: panels::SwapLabState,
    pub photo_compare: panels::PhotoCompareState,
    anatomy_maps: panels::AnatomyMaps,
    /// The comparison chart's data, built the first time the tab opens.
    zoo_points: Option<Vec<panels::ZooPoint>>,
    /// A message for the status bar (e.g. a link that named an unknown model).
    notice: Option<String>,
    #[cfg(target_arch = "wasm32")]
    page: crate::web::PageReport,
}

impl ConvscopeApp {
    /// Build the app from eframe's creation context, computing on eframe's wgpu device where it can.
    pub fn new(cc: &eframe::CreationContext<'_>, web: &WebGpuProbe) -> Self {
        crate::fonts::install(&cc.egui_ctx);
        let (status, gpu) = compute_status::probe(cc.wgpu_render_state.as_ref(), web);
        match &status {
            ComputeStatus::Gpu(summary) => log::info!("compute backend: GPU, {summary:?}"),
            ComputeStatus::CpuFallback { reason } => log::info!("compute backend: CPU fallback ({reason})"),
        }
        let render_state = gpu.as_ref().and(cc.wgpu_render_state.clone());
        let mut app = Self::with_parts(status, gpu);
        app.render_state = render_state;
        app
    }

    /// Build the app with a given status and no device: for UI tests and snapshots.
    pub fn with_status(ctx: &egui::Context, status: ComputeStatus) -> Self {
        crate::fonts::install(ctx);
        Self::with_parts(status, None)
    }

    fn with_parts(status: ComputeStatus, gpu: Option<GpuContext>) -> Self {
        let mut inference = crate::inference::Inference::default();
        inference.gpu = gpu.clone();
        Self {
            status,
            gpu,
            render_state: None,
            show_backend_window: false,
            show_architecture: true,
            show_inspector: true,
            view: ModelView::default(),
            tab: Tab::Build,
            table: panels::TableState::default(),
            inference,
            maps: panels::MapsState::default(),
            ghost_lab: panels::GhostLabState::default(),
            shuffle_lab: panels::ShuffleLabState::default(),
            separable_lab: panels::SeparableLabState::default(),
            swap_lab: panels::SwapLabState::default(),
            photo_compare: panels::PhotoCompareState::default(),
            anatomy_maps: panels::AnatomyMaps::default(),
            zoo_points: None,
            notice: None,
            #[cfg(target_arch = "wasm32")]
            page: crate::web::PageReport::default(),
        }
    }

    /// What the last map download did ("saved …", "downloading …").
    pub fn maps_download_notice(&self) -> Option<&str> {
        self.maps.download_notice.as_deref()
    }

    /// The status bar's message, if any (e.g. a link that named an unknown model).
    pub fn notice_text(&self) -> Option<&str> {
        self.notice.as_deref()
    }

    pub fn status(&self) -> &ComputeStatus {
        &self.status
    }

    /// Open what a link fragment names: `model=<id>&tab=<build|layers|run|ghost|shuffle|dsc|swap|compare|about>&layer=<node>&compare=<id>,<id>…&width=<α>&groups=<g>&t=<expansion>&ghost=<s>,<d>&channels=<in>,<out>&mitchell=1&res=<px>&sample=<file>&engine=<cpu|webgpu>`.
    /// Unknown or malformed parts are ignored with a message in the status bar, never a failure.
    pub fn open_link(&mut self, fragment: &str) {
        let mut problems = Vec::new();
        let mut variant_changed = false;
        let mut layer = None;
        let (mut tab_named, mut sample) = (false, false);
        for pair in fragment.trim_start_matches('#').split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "model" => {
                    if !self.view.select_id(value) {
                        problems.push(format!("no model {value:?}"));
                    }
                }
                "tab" => match Tab::from_name(value) {
                    Some(tab) => {
                        self.tab = tab;
                        tab_named = true;
                    }
                    None => problems.push(format!("no tab {value:?}")),
                },
                "phi" => match value.parse::<f64>() {
                    Ok(phi) if (-2.0..=8.0).contains(&phi) && self.view.entry().is_some_and(|e| e.compound) => {
                        let (width, depth, resolution) = convscope_zoo::compound_scaling(phi);
                        self.view.phi = Some(phi);
                        self.view.variant.width = width;
                        self.view.variant.depth = Some(depth);
                        self.view.variant.resolution = resolution;
                        variant_changed = true;
                    }
                    _ => problems.push(format!("phi {value:?} ignored")),
                },
                "sample" => {
                    if self.inference.request_sample(value) {
                        sample = true;
                    } else {
                        problems.push(format!("no sample photo {value:?}"));
                    }
                }
                "width" => match value.parse::<f64>() {
                    Ok(w) if (0.1..=4.0).contains(&w) && self.view.entry().is_some_and(|e| e.width) => {
                        self.view.variant.width = w;
                        variant_changed = true;
                    }
                    _ => problems.push(format!("width {value:?} ignored")),
                },
                "groups" => match value.parse::<usize>() {
                    Ok(g) if self.view.entry().is_some_and(|e| e.groups.contains(&g)) => {
                        self.view.variant.groups = Some(g);
                        variant_changed = true;
                    }
                    _ => problems.push(format!("groups {value:?} ignored")),
                },
                "mitchell" => match value {
                    "1" | "true" => {
                        self.view.variant.mitchell = true;
                        variant_changed = true;
                    }
                    "0" | "false" => {}
                    _ => problems.push(format!("mitchell {value:?} ignored")),
                },
                "channels" => match value.split_once(',').map(|(a, b)| (a.parse::<usize>(), b.parse::<usize>())) {
                    Some((Ok(inp), Ok(out))) if inp > 0 && out > 0 && self.view.entry().is_some_and(|e| e.block) => {
                        self.view.variant.channels = Some([inp, out]);
                        variant_changed = true;
                    }
                    _ => problems.push(format!("channels {value:?} ignored")),
                },
                "t" => match value.parse::<usize>() {
                    Ok(t) if t > 0 && self.view.entry().is_some_and(|e| e.expansion.is_some()) => {
                        self.view.variant.expansion = Some(t);
                        variant_changed = true;
                    }
                    _ => problems.push(format!("expansion {value:?} ignored")),
                },
                "ghost" => match value.split_once(',').map(|(a, b)| (a.parse::<usize>(), b.parse::<usize>())) {
                    Some((Ok(s), Ok(d))) if self.view.entry().is_some_and(|e| e.ghost.is_some()) => {
                        self.view.variant.ghost = Some([s, d]);
                        variant_changed = true;
                    }
                    _ => problems.push(format!("ghost {value:?} ignored")),
                },
                "engine" => match value {
                    "cpu" => self.inference.choose_backend(convscope_engine::Backend::Cpu),
                    "webgpu" | "gpu" => self.inference.choose_backend(convscope_engine::Backend::Gpu),
                    _ => problems.push(format!("engine {value:?} ignored (cpu or webgpu)")),
                },
                "layer" => {
                    layer = Some(value.to_owned());
                }
                "compare" => {
                    let ids: Vec<&'static str> = value
                        .split(',')
                        .filter_map(|id| convscope_zoo::find(id).map(|e| e.id).filter(|_| !id.is_empty()))
                        .collect();
                    if ids.len() == value.split(',').count() && !ids.is_empty() {
                        self.photo_compare.models = ids.clone();
                        self.inference.compare(&ids);
                    } else {
                        problems.push(format!("compare {value:?}: unknown models"));
                    }
                }
                "res" => match value.parse::<usize>() {
                    Ok(r) if (1..=4096).contains(&r) => {
                        self.view.variant.resolution = r;
                        variant_changed = true;
                    }
                    _ => problems.push(format!("resolution {value:?} ignored")),
                },
                _ => problems.push(format!("unknown link part {key:?}")),
            }
        }
        if variant_changed {
            self.view.rebuild();
        }
        // A photo opens the Run view unless the link names a view (an insight view runs it too).
        if sample && !tab_named {
            self.tab = Tab::Run;
        }
        // After the model and its variant: the layer is a node of that graph.
        if let Some(name) = layer {
            match self.view.model.as_ref().ok().and_then(|m| m.graph.find(&name)) {
                Some(node) => self.view.selected_node = Some(node),
                None => problems.push(format!("no layer {name:?} in this model")),
            }
        }
        self.notice = (!problems.is_empty()).then(|| format!("Link: {}", problems.join("; ")));
    }

    /// The link fragment that reopens the current view (the inverse of [`Self::open_link`]).
    pub fn link(&self) -> String {
        let mut link = format!("model={}&tab={}", self.view.entry().map_or("", |e| e.id), self.tab.name());
        if let Some(entry) = self.view.entry() {
            // φ first: a width or resolution after it overrides what φ set.
            if let Some(phi) = self.view.phi {
                link.push_str(&format!("&phi={phi}"));
            }
            if self.view.variant.width != entry.default.width {
                link.push_str(&format!("&width={}", self.view.variant.width));
            }
            if let Some(g) = self.view.variant.groups.filter(|_| self.view.variant.groups != entry.default.groups) {
                link.push_str(&format!("&groups={g}"));
            }
            if let Some([inp, out]) =
                self.view.variant.channels.filter(|_| self.view.variant.channels != entry.default.channels)
            {
                link.push_str(&format!("&channels={inp},{out}"));
            }
            if let Some(t) = self.view.variant.expansion {
                link.push_str(&format!("&t={t}"));
            }
            if let Some([s, d]) = self.view.variant.ghost {
                link.push_str(&format!("&ghost={s},{d}"));
            }
            if self.view.variant.mitchell {
                link.push_str("&mitchell=1");
            }
            if self.view.variant.resolution != entry.default.resolution {
                link.push_str(&format!("&res={}", self.view.variant.resolution));
            }
        }
        if self.inference.prefer_cpu {
            link.push_str("&engine=cpu");
        }
        if let (Some(node), Ok(model)) = (self.view.selected_node, self.view.model.as_ref())
            && let Some(n) = model.graph.node(node)
        {
            link.push_str(&format!("&layer={}", n.name));
        }
        link
    }

    /// Continue in a new eframe (the page restarted its drawing after the GPU device was lost): drop
    /// what belonged to the old one (textures), keep the view, the photo and the results.
    pub fn adopt(&mut self, ctx: &egui::Context) {
        crate::fonts::install(ctx);
        self.maps = panels::MapsState::default();
        if let Some(prepared) = self.inference.prepared.as_mut() {
            prepared.3 = None;
        }
    }

    /// Switch to the CPU for good once the device is lost, and say so. True when it was lost just now.
    fn check_device_lost(&mut self) -> bool {
        #[cfg_attr(not(target_arch = "wasm32"), allow(unused_mut))]
        let mut destroyed = None;
        #[cfg(target_arch = "wasm32")]
        if crate::web::LOSE_DEVICE.swap(false, std::sync::atomic::Ordering::Relaxed)
            && let Some(gpu) = &self.gpu
        {
            log::warn!("destroying the GPU device, as asked by the page");
            gpu.destroy();
            destroyed = Some("the device was destroyed".to_owned());
        }
        let lost = self.gpu.as_ref().and_then(GpuContext::lost_reason);
        let Some(reason) = destroyed.or(lost) else { return false };
        log::warn!("GPU device lost ({reason}); falling back to the CPU");
        self.gpu = None;
        self.render_state = None;
        self.maps.forget_gpu_textures();
        self.inference.lose_gpu(&reason);
        self.status = ComputeStatus::CpuFallback { reason: format!("the GPU device was lost: {reason}") };
        true
    }

    /// Draw the whole shell into `ui`.
    pub fn shell_ui(&mut self, ui: &mut egui::Ui) {
        // A dropped photo opens the Run tab; the run itself advances a few milliseconds per frame.
        if ui.ctx().input(|i| !i.raw.dropped_files.is_empty()) {
            self.tab = Tab::Run;
        }
        #[cfg(target_arch = "wasm32")]
        if crate::web::DROPPED.swap(false, std::sync::atomic::Ordering::Relaxed) {
            self.tab = Tab::Run;
        }
        if let Some((id, variant)) = self.inference.switch_to.take() {
            if self.view.select_id(id) {
                self.view.variant = variant;
                self.view.rebuild();
            }
            self.tab = Tab::Run;
        }
        self.inference.update(ui.ctx(), &self.view);
        self.inference.update_comparison(ui.ctx());
        egui::Panel::top("top_bar").show(ui, |ui| {
            panels::top_bar_ui(ui, &self.status, &mut self.view, &mut self.show_backend_window);
        });
        egui::Panel::bottom("status_bar")
            .show(ui, |ui| panels::status_bar_ui(ui, &self.status, self.notice.as_deref()));
        // Side panels: resizable, and collapsible (the buttons by the tabs, or drag an edge closed).
        egui::Panel::left("architecture").default_size(228.0).max_size(420.0).resizable(true).show_collapsible(
            ui,
            &mut self.show_architecture,
            |ui| panels::architecture_panel_ui(ui, &mut self.view),
        );
        egui::Panel::right("inspector").default_size(210.0).resizable(true).show_collapsible(
            ui,
            &mut self.show_inspector,
            |ui| {
                let show_block = self.tab != Tab::Build;
                let result = self.inference.result.as_ref();
                panels::inspector_panel_ui(ui, &mut self.view, show_block, result, &mut self.anatomy_maps);
            },
        );
        egui::CentralPanel::default().show(ui, |ui| {
            ui.horizontal(|ui| {
                let arrow = if self.show_architecture { "◀" } else { "▶" };
                if ui.selectable_label(false, arrow).on_hover_text("Show or hide the architecture panel").clicked() {
                    self.show_architecture = !self.show_architecture;
                }
                for tab in Tab::ALL {
                    ui.selectable_value(&mut self.tab, tab, tab.title());
                }
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    let arrow = if self.show_inspector { "▶" } else { "◀" };
                    if ui.selectable_label(false, arrow).on_hover_text("Show or hide the inspector").clicked() {
                        self.show_inspector = !self.show_inspector;
                    }
                });
            });
            ui.separator();
            match self.tab {
                Tab::Build => {
                    panels::build_view_ui(ui, &mut self.view, self.inference.result.as_ref(), &mut self.anatomy_maps);
                }
                Tab::Layers => {
                    let id = self.view.entry().map(|e| e.id);
                    let times = self
                        .inference
                        .result
                        .as_ref()
                        .filter(|r| Some(r.key.id) == id && r.key.variant == self.view.variant)
                        .filter(|r| r.outputs.timing != convscope_engine::Timing::Total)
                        .map(|r| panels::LayerTimes { step_ms: &r.outputs.step_ms, engine: r.backend().label() });
                    panels::layer_table_ui(ui, &mut self.view, &mut self.table, times);
                }
                Tab::Run => panels::run_view_ui(
                    ui,
                    &mut self.view,
                    &mut self.inference,
                    &mut self.maps,
                    self.render_state.as_ref(),
                ),
                Tab::Ghost => panels::ghost_lab_ui(ui, &mut self.view, &mut self.inference, &mut self.ghost_lab),
                Tab::Shuffle => {
                    panels::shuffle_lab_ui(ui, &mut self.view, &mut self.inference, &mut self.shuffle_lab);
                }
                Tab::Separable => {
                    panels::separable_lab_ui(ui, &self.view, &mut self.inference, &mut self.separable_lab);
                }
                Tab::Swap => panels::swap_lab_ui(ui, self.view.entry().map(|e| e.id), &mut self.swap_lab),
                Tab::Compare => {
                    panels::photo_compare_ui(ui, &self.view, &mut self.inference, &mut self.photo_compare);
                    let points = self.zoo_points.get_or_insert_with(|| panels::zoo_points(&self.view));
                    panels::compare_ui(ui, &mut self.view, points);
                }
                Tab::About => panels::welcome_ui(ui, &self.status, &self.view),
            }
        });

        if panels::take_switch_to_trained(ui.ctx()) {
            self.view.select_id(panels::TRAINED_DEFAULT);
        }
        egui::Window::new("Compute backend")
            .open(&mut self.show_backend_window)
            .resizable(false)
            .collapsible(false)
            .show(ui.ctx(), |ui| panels::backend_details_ui(ui, &self.status));
    }
}

impl eframe::App for ConvscopeApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        #[cfg(target_arch = "wasm32")]
        if crate::web::RERUN.swap(false, std::sync::atomic::Ordering::Relaxed) {
            self.inference.rerun();
        }
        #[cfg(target_arch = "wasm32")]
        if let Some(fragment) = crate::web::NEW_FRAGMENT.lock().ok().and_then(|mut f| f.take())
            && fragment.trim_start_matches('#') != self.link()
        {
            self.open_link(&fragment);
        }
        if self.check_device_lost() {
            // eframe draws with the lost device too: the page starts drawing again with WebGL2.
            #[cfg(target_arch = "wasm32")]
            {
                let placeholder = Self::with_parts(self.status.clone(), None);
                crate::web::restart_without_gpu(std::mem::replace(self, placeholder));
                return;
            }
        }
        self.shell_ui(ui);
        #[cfg(target_arch = "wasm32")]
        {
            self.page.report(&self.status);
            self.page.report_link(&self.link());
            self.page.report_result(&self.inference);
            self.page.report_message(self.inference.message.as_ref());
            let insight = match self.tab {
                Tab::Ghost => self.ghost_lab.summary.as_deref(),
                Tab::Shuffle => self.shuffle_lab.summary.as_deref(),
                Tab::Separable => self.separable_lab.summary.as_deref(),
                Tab::Swap => self.swap_lab.summary.as_deref(),
                Tab::Compare => self.photo_compare.summary.as_deref(),
                _ => None,
            };
            self.page.report_insight(insight);
        }
    }
}
