//! The page's one WebGPU device for its 3D views. Every `Plot3d` on WebGPU draws on its own
//! canvas surface with this shared device, so a page of twenty views opens one adapter and one
//! device, not twenty (under a software rasteriser, each extra device cost start-up time and
//! memory, and views opened late in a long session could wait minutes). The first view to ask
//! opens it; views that ask meanwhile wait for the same answer. Figure export uses a second
//! shared device, made on first use: in headless Chromium a device that has presented to a
//! canvas can no longer map buffers for read-back.
//!
//! A device that is lost is forgotten, so views opened afterwards open a new one (in headless
//! Chromium a device opened while the page starts is sometimes lost soon after, and WebGPU is
//! then gone: later views fall back to the software renderer, `plot_software`). Opening gives up
//! after [`OPEN_TIMEOUT_MS`]: a browser whose adapter request never answers gets software-drawn
//! views, not views that wait forever.

use std::cell::RefCell;
use std::rc::Rc;

use futures_channel::oneshot;
use leptos::task::spawn_local;

/// How long opening the shared device may take before the views fall back to software.
pub const OPEN_TIMEOUT_MS: u32 = 15_000;

/// The shared instance, adapter and device (with its queue).
pub struct WebGpu {
    pub instance: wgpu::Instance,
    pub adapter: wgpu::Adapter,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
}

type Answer = Result<Rc<WebGpu>, String>;

/// Where opening the shared device stands.
enum Slot {
    Untried,
    Opening(Vec<oneshot::Sender<Answer>>),
    Done(Answer),
}

thread_local! {
    static PRESENT: RefCell<Slot> = const { RefCell::new(Slot::Untried) };
    static EXPORT: RefCell<Slot> = const { RefCell::new(Slot::Untried) };
}

/// The shared device the views draw with: Err when this browser has no WebGPU adapter or
/// device (the caller then draws in software).
pub async fn presenting() -> Answer {
    shared(&PRESENT, "tanglelab plots", true).await
}

/// The shared device figure exports render and read back with.
pub async fn exporting() -> Answer {
    shared(&EXPORT, "tanglelab figure export", false).await
}

async fn shared(slot: &'static std::thread::LocalKey<RefCell<Slot>>, label: &'static str, probe: bool) -> Answer {
    let waiter = slot.with_borrow_mut(|slot| match slot {
        Slot::Done(answer) => Err(answer.clone()),
        Slot::Opening(waiting) => {
            let (tell, hear) = oneshot::channel();
            waiting.push(tell);
            Ok(Some(hear))
        }
        Slot::Untried => {
            *slot = Slot::Opening(Vec::new());
            Ok(None)
        }
    });
    match waiter {
        Err(answer) => answer,
        Ok(Some(hear)) => hear.await.unwrap_or_else(|_| Err(String::from("the graphics device was not opened"))),
        Ok(None) => {
            let answer = within(OPEN_TIMEOUT_MS, open(slot, label, probe))
                .await
                .unwrap_or_else(|| {
                    Err(format!("the graphics adapter did not answer within {} s", OPEN_TIMEOUT_MS / 1000))
                })
                .map(Rc::new);
            let waiting = slot.with_borrow_mut(|slot| match std::mem::replace(slot, Slot::Done(answer.clone())) {
                Slot::Opening(waiting) => waiting,
                _ => Vec::new(),
            });
            for tell in waiting {
                let _ = tell.send(answer.clone());
            }
            answer
        }
    }
}

async fn open(
    slot: &'static std::thread::LocalKey<RefCell<Slot>>,
    label: &'static str,
    probe: bool,
) -> Result<WebGpu, String> {
    if probe && !wgpu::util::is_browser_webgpu_supported().await {
        return Err(String::from("this browser offers no WebGPU"));
    }
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = wgpu::Backends::BROWSER_WEBGPU;
    let instance = wgpu::Instance::new(desc);
    let adapter =
        instance.request_adapter(&Default::default()).await.map_err(|e| format!("no graphics adapter ({e})"))?;
    let (device, queue) = plot_device(&adapter, label, "WebGPU").await?;
    // A lost device (the browser's GPU process restarted, a driver reset) is not handed to the
    // views that open next: they open a new one. Views already drawing keep the lost one.
    device.set_device_lost_callback(move |_, message| {
        web_sys::console::warn_1(
            &format!("the 3D plots' graphics device was lost ({message}); new views open another").into(),
        );
        slot.with_borrow_mut(|slot| {
            if matches!(slot, Slot::Done(_)) {
                *slot = Slot::Untried;
            }
        });
    });
    Ok(WebGpu { instance, adapter, device, queue })
}

/// A device of `adapter` for the 3D views (WebGL2's downlevel limits: the views need little), whose
/// validation errors are logged as errors of `api`: they must be seen (and fail the browser
/// tests), not swallowed.
pub async fn plot_device(
    adapter: &wgpu::Adapter,
    label: &'static str,
    api: &'static str,
) -> Result<(wgpu::Device, wgpu::Queue), String> {
    let (device, queue) = adapter
        .request_device(&wgpu::DeviceDescriptor {
            label: Some(label),
            required_limits: wgpu::Limits::downlevel_webgl2_defaults().using_resolution(adapter.limits()),
            ..Default::default()
        })
        .await
        .map_err(|e| format!("could not open the graphics device ({e})"))?;
    device.on_uncaptured_error(std::sync::Arc::new(move |error: wgpu::Error| {
        web_sys::console::error_1(&format!("{api} error in a 3D plot: {error}").into());
    }));
    Ok((device, queue))
}

/// `future`'s output, or None if it has not come after `ms` milliseconds (the future is then
/// left to finish on its own; its output is dropped).
async fn within<T: 'static>(ms: u32, future: impl std::future::Future<Output = T> + 'static) -> Option<T> {
    let (tell, hear) = oneshot::channel();
    let tell = Rc::new(RefCell::new(Some(tell)));
    let first = tell.clone();
    spawn_local(async move {
        let output = future.await;
        if let Some(tell) = first.borrow_mut().take() {
            let _ = tell.send(Some(output));
        }
    });
    spawn_local(async move {
        gloo::timers::future::TimeoutFuture::new(ms).await;
        if let Some(tell) = tell.borrow_mut().take() {
            let _ = tell.send(None);
        }
    });
    hear.await.ok().flatten()
}
