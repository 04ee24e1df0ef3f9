//! The physics step and the batched environment step allocate nothing once built (counted with
//! a global allocator wrapper, only on the thread under test: the test harness's own threads
//! allocate too, e.g. for its "running for over 60 seconds" notice on a loaded machine).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use tanglelab::sim::robots::{quadruped, walker2d};
use tanglelab::sim::{step, Data};
use tanglelab::task::quadruped::{QuadrupedBatch, QuadrupedEnvConfig};
use tanglelab::task::walker2d::{Walker2dBatch, Walker2dEnvConfig};
use tanglelab::task::{PushConfig, Task};

struct Counting;
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Set on the thread whose allocations are counted (const-initialised: no allocation).
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTED.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn stepping_does_not_allocate() {
    COUNTED.with(|c| c.set(true));
    let model = walker2d::model();
    let start = ALLOCATIONS.load(Ordering::SeqCst);
    let mut data = Data::new(&model);
    assert!(ALLOCATIONS.load(Ordering::SeqCst) > start, "the counter sees Data::new's allocations");
    // Sinusoidal torques so contacts and limits come and go.
    let run = |data: &mut Data, steps: usize| {
        for t in 0..steps {
            for u in 0..6 {
                data.ctrl[u] = 0.8 * (t as f64 * 0.02 + u as f64).sin();
            }
            step(&model, data).unwrap();
            if data.qpos[1] < 0.8 {
                data.reset(&model);
            }
        }
    };
    run(&mut data, 10);
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    run(&mut data, 2000);
    assert_eq!(ALLOCATIONS.load(Ordering::SeqCst) - before, 0, "sim::step allocated");

    // The batch, with random pushes, on one thread (rayon's pool would allocate for its own
    // bookkeeping).
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    pool.install(|| {
        COUNTED.with(|c| c.set(true));
        let config = Walker2dEnvConfig {
            push: Some(PushConfig { interval_steps: (5, 10), impulse_ns: (1.0, 5.0) }),
            ..Walker2dEnvConfig::default()
        };
        let mut batch = Walker2dBatch::new(4, config, 3).unwrap();
        let actions: Vec<f32> = (0..24).map(|k| ((k * 7) % 5) as f32 / 2.5 - 1.0).collect();
        batch.step(&actions);
        let before = ALLOCATIONS.load(Ordering::SeqCst);
        for _ in 0..300 {
            batch.step(&actions);
        }
        let allocated = ALLOCATIONS.load(Ordering::SeqCst) - before;
        assert_eq!(allocated, 0, "Walker2dBatch::step allocated {allocated} times in 300 steps");
    });

    // The quadruped: its 3-D contacts, pushes, command resampling and falls (auto-reset).
    let model = quadruped::model();
    let mut data = Data::new(&model);
    let run = |data: &mut Data, steps: usize| {
        for t in 0..steps {
            for u in 0..12 {
                data.ctrl[u] = 30.0 * (t as f64 * 0.03 + u as f64).sin();
            }
            step(&model, data).unwrap();
            if data.qpos[2] < 0.25 {
                data.reset(&model);
            }
        }
    };
    run(&mut data, 10);
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    run(&mut data, 2000);
    assert_eq!(ALLOCATIONS.load(Ordering::SeqCst) - before, 0, "sim::step allocated (quadruped)");
    pool.install(|| {
        COUNTED.with(|c| c.set(true));
        let config = QuadrupedEnvConfig {
            push: Some(PushConfig { interval_steps: (5, 10), impulse_ns: (5.0, 40.0) }),
            command_resample_steps: Some(7),
            study_command_fraction: 0.5,
            obs_noise_std: 1.0,
            ..QuadrupedEnvConfig::default()
        };
        let mut batch = QuadrupedBatch::new(4, config, 3).unwrap();
        let actions: Vec<f32> = (0..48).map(|k| ((k * 7) % 5) as f32 / 2.5 - 1.0).collect();
        batch.step(&actions);
        let before = ALLOCATIONS.load(Ordering::SeqCst);
        for _ in 0..300 {
            batch.step(&actions);
        }
        let allocated = ALLOCATIONS.load(Ordering::SeqCst) - before;
        assert_eq!(allocated, 0, "QuadrupedBatch::step allocated {allocated} times in 300 steps");
    });
}
