//! Shared wgpu plumbing for compute kernels: a device/queue context and buffer read-back.
//!
//! Getting a device is kept apart from the kernels (as in the wgpu examples), so tests, the CLI
//! and the browser each bring their own: natively [`GpuContext::native`] picks the first
//! Vulkan/Metal/DX12 adapter (lavapipe in CI); the web shell requests one from WebGPU.

/// Why the GPU path could not run.
#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    #[error("no GPU adapter found ({0}); on Debian install mesa-vulkan-drivers for a software one")]
    NoAdapter(String),
    #[error("could not open the GPU device: {0}")]
    Device(String),
    #[error("could not read results back from the GPU: {0}")]
    Readback(String),
}

/// A device and its queue, with a description of the adapter behind them.
pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub adapter_info: wgpu::AdapterInfo,
}

impl GpuContext {
    /// Opens a device on `adapter` with the adapter's own limits (storage-heavy kernels need more
    /// than the WebGPU defaults on some platforms).
    pub async fn from_adapter(adapter: &wgpu::Adapter) -> Result<Self, GpuError> {
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("tanglelab"),
                required_limits: adapter.limits(),
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::Device(e.to_string()))?;
        Ok(Self { device, queue, adapter_info: adapter.get_info() })
    }

    /// A native device on a Vulkan, Metal or DX12 adapter, a discrete GPU where there is one
    /// (blocking).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn native() -> Result<Self, GpuError> {
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
        desc.backends = wgpu::Backends::PRIMARY;
        let instance = wgpu::Instance::new(desc);
        pollster::block_on(async {
            let adapter = instance
                .request_adapter(&wgpu::RequestAdapterOptions {
                    power_preference: wgpu::PowerPreference::HighPerformance,
                    ..Default::default()
                })
                .await
                .map_err(|e| GpuError::NoAdapter(e.to_string()))?;
            Self::from_adapter(&adapter).await
        })
    }

    /// "name (backend, device type)" for reports.
    pub fn describe(&self) -> String {
        let info = &self.adapter_info;
        format!("{} ({:?}, {:?})", info.name, info.backend, info.device_type)
    }

    /// Copies `bytes` bytes of `source` into a fresh mappable buffer and reads them as f32.
    pub async fn read_f32(&self, source: &wgpu::Buffer, bytes: u64) -> Result<Vec<f32>, GpuError> {
        let raw = read_bytes(&self.device, &self.queue, source, bytes).await?;
        Ok(bytemuck::pod_collect_to_vec(&raw))
    }
}

/// Copies the first `bytes` bytes of `source` (which needs `COPY_SRC`) back to the CPU.
pub async fn read_bytes(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    source: &wgpu::Buffer,
    bytes: u64,
) -> Result<Vec<u8>, GpuError> {
    read_back(device, queue, bytes, |encoder, staging| encoder.copy_buffer_to_buffer(source, 0, staging, 0, bytes))
        .await
}

/// Reads back `bytes` bytes that `record_copy` copies into a mappable staging buffer (e.g. from a
/// buffer or a texture), in one submission.
pub async fn read_back(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    bytes: u64,
    record_copy: impl FnOnce(&mut wgpu::CommandEncoder, &wgpu::Buffer),
) -> Result<Vec<u8>, GpuError> {
    let staging = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size: bytes,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut encoder = device.create_command_encoder(&Default::default());
    record_copy(&mut encoder, &staging);
    queue.submit([encoder.finish()]);
    map_read(device, &staging, bytes).await
}

/// Maps the first `bytes` bytes of a `MAP_READ` buffer whose copies have been submitted, reads
/// them as f32 and unmaps it again (so a staging buffer can be reused step after step).
pub async fn map_read_f32(device: &wgpu::Device, staging: &wgpu::Buffer, bytes: u64) -> Result<Vec<f32>, GpuError> {
    Ok(bytemuck::pod_collect_to_vec(&map_read(device, staging, bytes).await?))
}

/// Maps the first `bytes` bytes of a `MAP_READ` buffer, copies them out and unmaps it.
pub async fn map_read(device: &wgpu::Device, staging: &wgpu::Buffer, bytes: u64) -> Result<Vec<u8>, GpuError> {
    let slice = staging.slice(..bytes);
    #[cfg_attr(not(target_arch = "wasm32"), allow(unused_mut))]
    let (sender, mut receiver) = futures_channel::oneshot::channel();
    slice.map_async(wgpu::MapMode::Read, move |result| {
        let _ = sender.send(result);
    });
    #[cfg(not(target_arch = "wasm32"))]
    let mapped = {
        let _ = device.poll(wgpu::PollType::wait_indefinitely());
        receiver.await.map_err(|_| GpuError::Readback("map request dropped".into()))?
    };
    // In the browser nothing may block: WebGPU resolves the map from the event loop, so poll
    // (harmless there) and yield until it is done.
    #[cfg(target_arch = "wasm32")]
    let mapped = loop {
        let _ = device.poll(wgpu::PollType::Poll);
        match receiver.try_recv() {
            Ok(Some(result)) => break result,
            Ok(None) => gloo::timers::future::TimeoutFuture::new(1).await,
            Err(_) => return Err(GpuError::Readback("map request dropped".into())),
        }
    };
    mapped.map_err(|e| GpuError::Readback(e.to_string()))?;
    let view = slice.get_mapped_range().map_err(|e| GpuError::Readback(format!("{e:?}")))?;
    let values = view.to_vec();
    drop(view);
    staging.unmap();
    Ok(values)
}
