//! The study's rollouts off the page's thread: a pool of module Web Workers, each loading this
//! same wasm module (the page's wasm-bindgen glue and wasm, found from the page's preload links)
//! and running [`study_worker_group`] (one group of agents of one condition,
//! `study::pipeline::Simulate`) on request. A group's recording depends only on its protocol,
//! weights, condition and agents, so whichever worker runs it, the bits are the CLI's; the
//! study cell hands the recordings to `StudyRunner` in the order it asks for them.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Range;
use std::rc::Rc;

use futures_channel::oneshot;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::fmath::FloatExt;
use crate::rollout::Recording;
use crate::study::pipeline::{GroupSource, Simulate};
use crate::study::Protocol;

/// In a worker: the recording of `agents` `start..end` of trace condition `trace_condition`
/// under `protocol` (JSON) and the safetensors `weights`.
#[wasm_bindgen(js_name = studyWorkerGroup)]
pub fn study_worker_group(
    protocol_json: &str,
    weights: &[u8],
    trace_condition: u32,
    start: u32,
    end: u32,
) -> Result<JsValue, JsError> {
    let protocol: Protocol = serde_json::from_str(protocol_json)?;
    protocol.validate()?;
    let weights = crate::policy::load_safetensors(weights)?;
    let recording = Simulate { protocol: &protocol, weights: &weights }
        .group(trace_condition as usize, start as usize..end as usize)
        .map_err(|e| JsError::new(&e.to_string()))?;
    Ok(serde_wasm_bindgen::to_value(&recording)?)
}

/// This instance's wasm linear memory in bytes. It only grows, so it is the peak so far.
#[wasm_bindgen(js_name = wasmMemoryBytes)]
pub fn wasm_memory_bytes() -> f64 {
    let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
    memory.buffer().unchecked_into::<js_sys::ArrayBuffer>().byte_length() as f64
}

type Reply = Result<Recording, String>;

/// Workers, each with at most one job at a time.
pub struct WorkerPool {
    workers: Vec<web_sys::Worker>,
    pending: Rc<RefCell<HashMap<u32, oneshot::Sender<Reply>>>>,
    /// The largest wasm memory a worker reported with a reply (bytes).
    worker_memory_peak: Rc<std::cell::Cell<f64>>,
    next_id: RefCell<u32>,
    _on_message: Vec<Closure<dyn FnMut(web_sys::MessageEvent)>>,
}

/// The module worker's script: load the page's wasm, then answer jobs.
fn worker_script(glue_url: &str, wasm_url: &str) -> String {
    format!(
        r#"import init, * as bindings from {glue:?};
const ready = init({{ module_or_path: {wasm:?} }});
self.onmessage = async (event) => {{
  await ready;
  const job = event.data;
  try {{
    const recording = bindings.studyWorkerGroup(job.protocol, job.weights, job.condition, job.start, job.end);
    self.postMessage({{ id: job.id, recording, memory: bindings.wasmMemoryBytes() }});
  }} catch (error) {{
    self.postMessage({{ id: job.id, error: String(error) }});
  }}
}};"#,
        glue = glue_url,
        wasm = wasm_url
    )
}

/// The absolute URLs of the page's wasm-bindgen glue and wasm (Trunk's preload links).
fn module_urls() -> Result<(String, String), String> {
    let document = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let href = |selector: &str| -> Result<String, String> {
        let element = document.query_selector(selector).ok().flatten().ok_or(format!("no {selector} in the page"))?;
        let link: web_sys::HtmlLinkElement = element.dyn_into().map_err(|_| format!("{selector} is not a link"))?;
        Ok(link.href())
    };
    Ok((href("link[rel=modulepreload]")?, href("link[rel=preload][as=fetch]")?))
}

impl WorkerPool {
    /// `n` workers (at least 1), or why not (no module workers, no preload links).
    pub fn new(n: usize) -> Result<Self, String> {
        let (glue, wasm) = module_urls()?;
        let script = worker_script(&glue, &wasm);
        let parts = js_sys::Array::of1(&JsValue::from_str(&script));
        let options = web_sys::BlobPropertyBag::new();
        options.set_type("text/javascript");
        let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options).map_err(|e| format!("{e:?}"))?;
        let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|e| format!("{e:?}"))?;
        let pending: Rc<RefCell<HashMap<u32, oneshot::Sender<Reply>>>> = Rc::default();
        let worker_memory_peak: Rc<std::cell::Cell<f64>> = Rc::default();
        let mut workers = Vec::new();
        let mut on_message = Vec::new();
        for _ in 0..n.max(1) {
            let options = web_sys::WorkerOptions::new();
            options.set_type(web_sys::WorkerType::Module);
            let worker = web_sys::Worker::new_with_options(&url, &options)
                .map_err(|e| format!("cannot start a worker: {e:?}"))?;
            let pending = pending.clone();
            let memory_peak = worker_memory_peak.clone();
            let handler = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
                let data = event.data();
                let field =
                    |name: &str| js_sys::Reflect::get(&data, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED);
                let Some(id) = field("id").as_f64() else { return };
                if let Some(bytes) = field("memory").as_f64() {
                    memory_peak.set(memory_peak.get().fmax(bytes));
                }
                let reply = match field("error").as_string() {
                    Some(error) => Err(error),
                    None => serde_wasm_bindgen::from_value::<Recording>(field("recording")).map_err(|e| e.to_string()),
                };
                if let Some(sender) = pending.borrow_mut().remove(&(id as u32)) {
                    let _ = sender.send(reply);
                }
            });
            worker.set_onmessage(Some(handler.as_ref().unchecked_ref()));
            workers.push(worker);
            on_message.push(handler);
        }
        let _ = web_sys::Url::revoke_object_url(&url);
        Ok(WorkerPool { workers, pending, worker_memory_peak, next_id: RefCell::new(0), _on_message: on_message })
    }

    /// The largest wasm memory any worker has reported (bytes; 0 before the first reply).
    pub fn worker_memory_peak_bytes(&self) -> f64 {
        self.worker_memory_peak.get()
    }

    pub fn len(&self) -> usize {
        self.workers.len()
    }

    /// Starts a job on worker `k`; the receiver gets its recording.
    pub fn submit(
        &self,
        k: usize,
        protocol_json: &str,
        weights: &js_sys::Uint8Array,
        job: (usize, Range<usize>),
    ) -> oneshot::Receiver<Reply> {
        let id = {
            let mut next = self.next_id.borrow_mut();
            *next += 1;
            *next
        };
        let (sender, receiver) = oneshot::channel();
        self.pending.borrow_mut().insert(id, sender);
        let message = js_sys::Object::new();
        let set = |name: &str, value: &JsValue| {
            let _ = js_sys::Reflect::set(&message, &JsValue::from_str(name), value);
        };
        set("id", &JsValue::from(id));
        set("protocol", &JsValue::from_str(protocol_json));
        set("weights", weights);
        set("condition", &JsValue::from(job.0 as u32));
        set("start", &JsValue::from(job.1.start as u32));
        set("end", &JsValue::from(job.1.end as u32));
        if let Err(e) = self.workers[k % self.workers.len()].post_message(&message) {
            if let Some(sender) = self.pending.borrow_mut().remove(&id) {
                let _ = sender.send(Err(format!("cannot reach the worker: {e:?}")));
            }
        }
        receiver
    }
}

thread_local! {
    /// The page's pool, kept between runs (a worker's start loads and compiles the wasm).
    static SHARED: RefCell<Option<Rc<WorkerPool>>> = const { RefCell::new(None) };
}

impl WorkerPool {
    /// The page's pool of `n` workers, started on first use and kept.
    pub fn shared(n: usize) -> Result<Rc<WorkerPool>, String> {
        SHARED.with(|shared| {
            if let Some(pool) = shared.borrow().as_ref() {
                return Ok(pool.clone());
            }
            let pool = Rc::new(WorkerPool::new(n)?);
            *shared.borrow_mut() = Some(pool.clone());
            Ok(pool)
        })
    }

    /// Stops the page's pool (its workers may be busy with a cancelled run's groups); the next
    /// [`Self::shared`] starts a fresh one.
    pub fn discard_shared() {
        SHARED.with(|shared| shared.borrow_mut().take());
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        for worker in &self.workers {
            worker.terminate();
        }
    }
}

/// A [`GroupSource`] handing out recordings computed elsewhere, in the order they were put in;
/// a request that is not the next one is an error (the plan and the runner disagree).
/// (Shared: the caller fills it while the runner, which holds the source, drains it.)
#[derive(Default, Clone)]
pub struct Prefetched(pub Rc<RefCell<std::collections::VecDeque<(Job, Recording)>>>);

/// (trace condition, agents).
pub type Job = (usize, Range<usize>);

impl GroupSource for Prefetched {
    fn group(
        &mut self,
        trace_condition: usize,
        agents: Range<usize>,
    ) -> Result<Recording, crate::study::pipeline::StudyError> {
        let next = self.0.borrow_mut().pop_front();
        match next {
            Some((job, recording)) if job == (trace_condition, agents.clone()) => Ok(recording),
            other => Err(crate::study::pipeline::StudyError::Source(format!(
                "the workers' recording for condition {trace_condition}, agents {agents:?} is not the next one ({:?})",
                other.map(|o| o.0)
            ))),
        }
    }
}

/// The study of `protocol` with the groups simulated by `pool`'s workers, as many in flight as
/// there are workers (the runner's plan, in order), reduced here in the order the runner asks for
/// them; `progress` sees (groups done, groups); None when `cancelled` turned true (the caller
/// should stop the pool: its workers may still be busy).
pub async fn run_on_workers(
    pool: &WorkerPool,
    protocol: &Protocol,
    weights: &[u8],
    progress: &dyn Fn((usize, usize)),
    cancelled: &dyn Fn() -> bool,
) -> Result<Option<crate::study::pipeline::StudyOutcome>, String> {
    use crate::study::pipeline::StudyRunner;
    let protocol_json = serde_json::to_string(protocol).map_err(|e| e.to_string())?;
    let weights = js_sys::Uint8Array::from(weights);
    let prefetched = Prefetched::default();
    let mut source = prefetched.clone();
    let mut runner = StudyRunner::new(protocol, crate::study::Shard::WHOLE, &mut source).map_err(|e| e.to_string())?;
    let plan = runner.planned_requests();
    let mut in_flight = std::collections::VecDeque::new();
    let mut submitted = 0;
    while let Some(wanted) = runner.next_request() {
        while in_flight.len() < pool.len() && submitted < plan.len() {
            let job = plan[submitted].clone();
            in_flight.push_back((job.clone(), pool.submit(submitted, &protocol_json, &weights, job)));
            submitted += 1;
        }
        let (job, mut reply) = in_flight.pop_front().ok_or("the workers ran out of planned groups")?;
        if job != wanted {
            return Err(format!(
                "the study asked for condition {}, agents {:?}, not the planned next group",
                wanted.0, wanted.1
            ));
        }
        let recording = loop {
            if cancelled() {
                return Ok(None);
            }
            match reply.try_recv() {
                Ok(Some(result)) => break result?,
                Ok(None) => gloo::timers::future::TimeoutFuture::new(20).await,
                Err(_) => return Err("a worker stopped without answering".into()),
            }
        };
        prefetched.0.borrow_mut().push_back((job, recording));
        match runner.step(&mut |_, _, _| Ok(())).map_err(|e| e.to_string())? {
            Some(outcome) => return Ok(Some(outcome)),
            None => progress(runner.progress()),
        }
    }
    Err("the study ended without an outcome".into())
}

/// `tanglelab bench study --wasm`'s page side: the study of `protocol_json` on `workers` fresh
/// workers; resolves to the JSON text `{ secs, checksum, workers, page_memory_mb,
/// worker_memory_mb }` (the findings' checksum, to compare with native; the page's wasm memory
/// after the run and the largest worker's, both peaks since wasm memory only grows).
#[wasm_bindgen(js_name = studyBench)]
pub async fn study_bench(protocol_json: String, weights: Vec<u8>, workers: u32) -> Result<String, JsError> {
    let protocol: Protocol = serde_json::from_str(&protocol_json)?;
    protocol.validate()?;
    let pool = WorkerPool::new(workers as usize).map_err(|e| JsError::new(&e))?;
    let start = super::shell::now_ms();
    let outcome = run_on_workers(&pool, &protocol, &weights, &|_| (), &|| false)
        .await
        .map_err(|e| JsError::new(&e))?
        .ok_or_else(|| JsError::new("cancelled"))?;
    let secs = (super::shell::now_ms() - start) / 1e3;
    let mib = |bytes: f64| bytes / f64::from(1u32 << 20);
    Ok(serde_json::json!({
        "secs": secs,
        "checksum": outcome.findings.checksum(),
        "workers": pool.len(),
        "page_memory_mb": mib(wasm_memory_bytes()),
        "worker_memory_mb": mib(pool.worker_memory_peak_bytes()),
    })
    .to_string())
}
