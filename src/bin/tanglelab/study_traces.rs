//! `traces/*.npy` of a study: written as the groups finish (one header per file, then each
//! group's rows appended: `[C, N, T, U]` fills in condition, then agent order) and read back one
//! group at a time by seeking, so neither side holds more than a group.

use anyhow::{bail, Context};
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use tanglelab::io::{npy_header, parse_npy_header};
use tanglelab::rollout::{AgentEnd, Recording};
use tanglelab::task::TerminationReason;

/// `traces/ends.json`: per condition, per agent, how its episode ended (control step and "fell"
/// or "blow-up: …"), or null: the reasons the alive flags cannot carry.
pub type Ends = Vec<Vec<Option<(usize, String)>>>;

fn end_entry(end: &Option<AgentEnd>) -> Option<(usize, String)> {
    end.as_ref().map(|e| {
        let reason = match &e.reason {
            TerminationReason::Fell => "fell".to_string(),
            TerminationReason::BlowUp(what) => format!("blow-up: {what}"),
        };
        (e.step, reason)
    })
}

fn agent_end(entry: &Option<(usize, String)>) -> Option<AgentEnd> {
    entry.as_ref().map(|(step, reason)| AgentEnd {
        step: *step,
        reason: match reason.strip_prefix("blow-up: ") {
            Some(what) => TerminationReason::BlowUp(what.to_string()),
            None => TerminationReason::Fell,
        },
    })
}

pub fn read_ends(dir: &Path) -> anyhow::Result<Ends> {
    let path = dir.join("ends.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("in {}", path.display()))
}

pub fn write_ends(dir: &Path, ends: &Ends) -> anyhow::Result<()> {
    let path = dir.join("ends.json");
    std::fs::write(&path, serde_json::to_string(ends)?).with_context(|| format!("cannot write {}", path.display()))
}

/// One traces file: its name, dtype, and per-sample width.
struct TraceFile {
    name: &'static str,
    descr: &'static str,
    width: fn(&Recording) -> usize,
}

const FILES: [TraceFile; 8] = [
    TraceFile { name: "cell", descr: "<f4", width: |r| r.n_hidden },
    TraceFile { name: "hidden", descr: "<f4", width: |r| r.n_hidden },
    TraceFile { name: "actions", descr: "<f4", width: |r| r.n_actions },
    TraceFile { name: "actions_clipped", descr: "<f4", width: |r| r.n_actions },
    TraceFile { name: "obs", descr: "<f4", width: |r| r.n_obs },
    TraceFile { name: "contacts", descr: "|u1", width: |r| r.n_feet },
    TraceFile { name: "alive", descr: "|u1", width: |_| 0 },
    TraceFile { name: "base_velocity", descr: "<f4", width: |_| 3 },
];

/// Bytes per sample of one agent over all the files.
pub fn bytes_per_sample(n_hidden: usize, n_actions: usize, n_obs: usize, n_feet: usize) -> usize {
    4 * (2 * n_hidden + 2 * n_actions + n_obs + 3) + n_feet + 1
}

fn shape(c: usize, n: usize, t: usize, width: usize) -> Vec<usize> {
    if width == 0 {
        vec![c, n, t]
    } else {
        vec![c, n, t, width]
    }
}

/// Writes the traces of `n_conditions` conditions of `n_agents` agents each.
pub struct TraceWriter {
    dir: PathBuf,
    n_conditions: usize,
    n_agents: usize,
    files: Vec<BufWriter<File>>,
    ends: Ends,
}

impl TraceWriter {
    pub fn new(dir: &Path, n_conditions: usize, n_agents: usize) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            n_conditions,
            n_agents,
            files: Vec::new(),
            ends: vec![Vec::new(); n_conditions],
        })
    }

    /// Appends a group's recording of condition `c` (groups must come in condition, then agent
    /// order).
    pub fn append(&mut self, c: usize, recording: &Recording) -> anyhow::Result<()> {
        self.ends[c].extend(recording.ends.iter().map(end_entry));
        if self.files.is_empty() {
            for f in &FILES {
                let path = self.dir.join(format!("{}.npy", f.name));
                let file = File::create(&path).with_context(|| format!("cannot write {}", path.display()))?;
                let mut w = BufWriter::new(file);
                let width = (f.width)(recording);
                w.write_all(&npy_header(
                    f.descr,
                    &shape(self.n_conditions, self.n_agents, recording.n_samples, width),
                ))?;
                self.files.push(w);
            }
        }
        let floats: [&[f32]; 5] =
            [&recording.cell, &recording.hidden, &recording.actions, &recording.actions_clipped, &recording.obs];
        for (w, values) in self.files.iter_mut().zip(floats) {
            for v in values {
                w.write_all(&v.to_le_bytes())?;
            }
        }
        self.files[5].write_all(&recording.contacts)?;
        self.files[6].write_all(&recording.alive)?;
        for v in &recording.base_velocity {
            self.files[7].write_all(&v.to_le_bytes())?;
        }
        Ok(())
    }

    pub fn finish(self) -> anyhow::Result<()> {
        for mut w in self.files {
            w.flush()?;
        }
        write_ends(&self.dir, &self.ends)
    }
}

/// One opened traces file.
struct OpenTrace {
    file: File,
    path: PathBuf,
    shape: Vec<usize>,
    data_offset: usize,
    item: usize,
}

impl OpenTrace {
    fn open(path: &Path, descr: &str) -> anyhow::Result<Self> {
        let mut file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
        let mut head = vec![0u8; 4096];
        let n = file.read(&mut head)?;
        let layout = parse_npy_header(&head[..n]).with_context(|| format!("in {}", path.display()))?;
        if layout.descr != descr {
            bail!("{}: dtype {} (expected {descr})", path.display(), layout.descr);
        }
        let item = if descr == "|u1" { 1 } else { 4 };
        let expected =
            layout.shape.iter().try_fold(item, |a: usize, &d| a.checked_mul(d)).context("shape overflows")?;
        let actual = file.metadata()?.len() as usize;
        if actual != layout.data_offset + expected {
            bail!(
                "{}: the header says shape {:?} ({} data bytes) but the file has {} (truncated or a lying header)",
                path.display(),
                layout.shape,
                expected,
                actual.saturating_sub(layout.data_offset)
            );
        }
        Ok(Self { file, path: path.to_path_buf(), shape: layout.shape, data_offset: layout.data_offset, item })
    }

    /// The raw bytes of agents `agents` of condition `c`.
    fn rows(&mut self, c: usize, agents: std::ops::Range<usize>) -> anyhow::Result<Vec<u8>> {
        let per_agent: usize = self.shape[2..].iter().product::<usize>() * self.item;
        let start = self.data_offset + (c * self.shape[1] + agents.start) * per_agent;
        let mut out = vec![0u8; agents.len() * per_agent];
        self.file.seek(SeekFrom::Start(start as u64))?;
        self.file.read_exact(&mut out).with_context(|| format!("reading {}", self.path.display()))?;
        Ok(out)
    }
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

/// Reads groups back from a study's `traces/`.
pub struct TraceReader {
    files: Vec<OpenTrace>,
    pub ends: Ends,
    pub n_conditions: usize,
    pub n_agents: usize,
    pub n_samples: usize,
}

impl TraceReader {
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        let files: Vec<OpenTrace> = FILES
            .iter()
            .map(|f| OpenTrace::open(&dir.join(format!("{}.npy", f.name)), f.descr))
            .collect::<Result<_, _>>()?;
        let lead = files[0].shape.clone();
        if lead.len() != 4 || files.iter().any(|f| f.shape[..3] != lead[..3]) {
            bail!("{}: the traces disagree on [conditions, agents, samples]", dir.display());
        }
        let ends = read_ends(dir)?;
        if ends.len() != lead[0] || ends.iter().any(|c| c.len() != lead[1]) {
            bail!("{}: ends.json does not match the traces' [conditions, agents]", dir.display());
        }
        Ok(Self { n_conditions: lead[0], n_agents: lead[1], n_samples: lead[2], files, ends })
    }

    /// The raw bytes of every file for agents `agents` of condition `c` (for merging).
    pub fn raw(&mut self, c: usize, agents: std::ops::Range<usize>) -> anyhow::Result<Vec<Vec<u8>>> {
        self.files.iter_mut().map(|f| f.rows(c, agents.clone())).collect()
    }

    /// Agents `agents` of condition `c` as a recording (`interval_secs`, `every_steps` from the
    /// protocol; `ends` from `ends.json`).
    pub fn group(
        &mut self,
        c: usize,
        agents: std::ops::Range<usize>,
        every_steps: usize,
        interval_secs: f64,
    ) -> anyhow::Result<Recording> {
        let raw = self.raw(c, agents.clone())?;
        let agents = agents.clone();
        let widths: Vec<usize> = self.files.iter().map(|f| f.shape.get(3).copied().unwrap_or(1)).collect();
        let n = agents.len();
        let t = self.n_samples;
        let mut it = raw.into_iter();
        let mut next = || it.next().expect("eight files");
        Ok(Recording {
            n_agents: n,
            n_samples: t,
            every_steps,
            interval_secs,
            n_hidden: widths[0],
            n_actions: widths[2],
            n_obs: widths[4],
            n_feet: widths[5],
            cell: f32s(&next()),
            hidden: f32s(&next()),
            actions: f32s(&next()),
            actions_clipped: f32s(&next()),
            obs: f32s(&next()),
            contacts: next(),
            alive: next(),
            base_velocity: f32s(&next()),
            filled: t,
            ends: self.ends[c][agents].iter().map(agent_end).collect(),
        })
    }
}

/// Writes `[C, N, …]` traces by appending raw rows (the merge).
pub struct RawTraceWriter {
    files: Vec<BufWriter<File>>,
}

impl RawTraceWriter {
    /// Files shaped like `like`'s, with `n_agents` agents.
    pub fn new(dir: &Path, like: &TraceReader, n_agents: usize) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let mut files = Vec::new();
        for (f, open) in FILES.iter().zip(&like.files) {
            let path = dir.join(format!("{}.npy", f.name));
            let mut w =
                BufWriter::new(File::create(&path).with_context(|| format!("cannot write {}", path.display()))?);
            let mut shape = open.shape.clone();
            shape[1] = n_agents;
            w.write_all(&npy_header(f.descr, &shape))?;
            files.push(w);
        }
        Ok(Self { files })
    }

    pub fn append(&mut self, raw: &[Vec<u8>]) -> anyhow::Result<()> {
        for (w, bytes) in self.files.iter_mut().zip(raw) {
            w.write_all(bytes)?;
        }
        Ok(())
    }

    pub fn finish(self) -> anyhow::Result<()> {
        for mut w in self.files {
            w.flush()?;
        }
        Ok(())
    }
}
