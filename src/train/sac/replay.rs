//! SAC's replay buffer: a ring of transitions (s, a, r, s', mask) in f32, sampled uniformly with
//! the trainer's seeded RNG, and saved beside the checkpoint so a resumed run samples the same
//! batches.
//!
//! File layout: the magic `TLREPLAY`, then little-endian u64 capacity, n_obs, n_actions, len and
//! next slot, then the five arrays of `capacity` rows as little-endian f32.

use rand::Rng;

use crate::train::TrainError;

const MAGIC: &[u8; 8] = b"TLREPLAY";

/// A ring buffer of transitions.
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    pub capacity: usize,
    pub n_obs: usize,
    pub n_actions: usize,
    obs: Vec<f32>,
    action: Vec<f32>,
    reward: Vec<f32>,
    next_obs: Vec<f32>,
    mask: Vec<f32>,
    len: usize,
    next: usize,
}

/// A sampled batch, row-major.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    pub obs: Vec<f32>,
    pub action: Vec<f32>,
    pub reward: Vec<f32>,
    pub next_obs: Vec<f32>,
    pub mask: Vec<f32>,
}

impl Replay {
    /// An empty buffer; the arrays grow as transitions arrive, up to `capacity` rows.
    pub fn new(capacity: usize, n_obs: usize, n_actions: usize) -> Self {
        Self {
            capacity,
            n_obs,
            n_actions,
            obs: Vec::new(),
            action: Vec::new(),
            reward: Vec::new(),
            next_obs: Vec::new(),
            mask: Vec::new(),
            len: 0,
            next: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Stores a transition, overwriting the oldest once full.
    pub fn push(&mut self, obs: &[f32], action: &[f32], reward: f32, next_obs: &[f32], mask: f32) {
        let (o, a, i) = (self.n_obs, self.n_actions, self.next);
        if self.len < self.capacity {
            self.obs.extend_from_slice(&obs[..o]);
            self.action.extend_from_slice(&action[..a]);
            self.reward.push(reward);
            self.next_obs.extend_from_slice(&next_obs[..o]);
            self.mask.push(mask);
            self.len += 1;
        } else {
            self.obs[i * o..(i + 1) * o].copy_from_slice(&obs[..o]);
            self.action[i * a..(i + 1) * a].copy_from_slice(&action[..a]);
            self.reward[i] = reward;
            self.next_obs[i * o..(i + 1) * o].copy_from_slice(&next_obs[..o]);
            self.mask[i] = mask;
        }
        self.next = (i + 1) % self.capacity;
    }

    /// `n` transitions drawn uniformly with replacement.
    pub fn sample<R: Rng>(&self, rng: &mut R, n: usize) -> Batch {
        let (o, a) = (self.n_obs, self.n_actions);
        let mut batch = Batch::default();
        for _ in 0..n {
            let i = rng.random_range(0..self.len);
            batch.obs.extend_from_slice(&self.obs[i * o..(i + 1) * o]);
            batch.action.extend_from_slice(&self.action[i * a..(i + 1) * a]);
            batch.reward.push(self.reward[i]);
            batch.next_obs.extend_from_slice(&self.next_obs[i * o..(i + 1) * o]);
            batch.mask.push(self.mask[i]);
        }
        batch
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(48 + 4 * self.len * (2 * self.n_obs + self.n_actions + 2));
        out.extend_from_slice(MAGIC);
        for v in [self.capacity, self.n_obs, self.n_actions, self.len, self.next] {
            out.extend_from_slice(&(v as u64).to_le_bytes());
        }
        for array in [&self.obs, &self.action, &self.reward, &self.next_obs, &self.mask] {
            array.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes()));
        }
        out
    }

    /// Reads [`Replay::to_bytes`]'s layout, checking every size against the file's length before
    /// allocating.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TrainError> {
        let bad = |what: &str| TrainError::Checkpoint(format!("replay buffer: {what}"));
        if bytes.len() < 48 || &bytes[..8] != MAGIC {
            return Err(bad("not a replay file (magic TLREPLAY missing)"));
        }
        let word = |k: usize| u64::from_le_bytes(bytes[8 + 8 * k..16 + 8 * k].try_into().expect("8 bytes")) as usize;
        let (capacity, n_obs, n_actions, len, next) = (word(0), word(1), word(2), word(3), word(4));
        if len > capacity || next >= capacity.max(1) || n_obs == 0 || n_actions == 0 {
            return Err(bad("inconsistent header"));
        }
        let row =
            2usize.checked_mul(n_obs).and_then(|v| v.checked_add(n_actions + 2)).ok_or_else(|| bad("huge rows"))?;
        let expected = len.checked_mul(row).and_then(|v| v.checked_mul(4)).ok_or_else(|| bad("huge length"))?;
        if bytes.len() - 48 != expected {
            return Err(bad(&format!("holds {} bytes of data where its header needs {expected}", bytes.len() - 48)));
        }
        let mut at = 48;
        let mut take = |n: usize| {
            let values = bytes[at..at + 4 * n]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
                .collect();
            at += 4 * n;
            values
        };
        Ok(Self {
            capacity,
            n_obs,
            n_actions,
            obs: take(len * n_obs),
            action: take(len * n_actions),
            reward: take(len),
            next_obs: take(len * n_obs),
            mask: take(len),
            len,
            next,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn the_ring_overwrites_the_oldest_and_round_trips() {
        let mut replay = Replay::new(3, 2, 1);
        for k in 0..5 {
            let x = k as f32;
            replay.push(&[x, -x], &[x / 10.0], x, &[x + 1.0, 0.0], (k % 2) as f32);
        }
        assert_eq!(replay.len(), 3);
        // Transitions 3, 4 overwrote slots 0, 1; slot 2 holds transition 2.
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let batch = replay.sample(&mut rng, 200);
        let mut seen: Vec<f32> = batch.reward.clone();
        seen.sort_by(f32::total_cmp);
        seen.dedup();
        assert_eq!(seen, [2.0, 3.0, 4.0]);
        for (i, &r) in batch.reward.iter().enumerate() {
            assert_eq!(batch.obs[2 * i], r);
            assert_eq!(batch.next_obs[2 * i], r + 1.0);
            assert_eq!(batch.mask[i], r % 2.0);
        }
        let back = Replay::from_bytes(&replay.to_bytes()).unwrap();
        assert_eq!(back, replay);
        let mut bytes = replay.to_bytes();
        bytes.truncate(bytes.len() - 4);
        assert!(Replay::from_bytes(&bytes).unwrap_err().to_string().contains("needs"));
        // A header that claims a huge buffer is refused before allocating.
        let mut lying = replay.to_bytes();
        lying[32..40].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
        assert!(Replay::from_bytes(&lying).is_err());
    }
}
