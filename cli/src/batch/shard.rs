//! `--shard K/N`: a run takes only the lines of one shard, a split by `custom_id` that is the
//! same on every rerun, machine and version, so each shard resumes on its own output and the
//! shards together cover the input once. K and N can come from the scheduler running the
//! shards: a Slurm job array or a Kubernetes Indexed Job.

use super::stable_hash::fnv1a;
use crate::fail::Failure;

/// The most shards (a bound for a typo, not for any real fleet).
const MAX_SHARDS: u64 = 1_000_000;

/// One shard of N, numbered from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// The shard `spec` names: `K/N`, `auto` or `auto/N`, with the scheduler's variables read
    /// through `env`.
    pub fn parse(spec: &str, env: impl Fn(&str) -> Option<String>) -> Result<Shard, Failure> {
        let spec = spec.trim();
        let (k, n) = match spec.split_once('/') {
            Some((k, n)) => (k.trim(), Some(n.trim())),
            None => (spec, None),
        };
        let count = match n {
            Some(n) => Some(number(n, "N", spec)?),
            None if k == "auto" => None,
            None => {
                return Err(usage(
                    spec,
                    "give K/N (shard K of N, from 1), auto (a Slurm job array) or auto/N",
                ));
            }
        };
        if k != "auto" {
            let index = number(k, "K", spec)?;
            let count = count.unwrap_or(0);
            return Shard::checked(index, count, spec);
        }
        let (index, from_env_count) = scheduler(&env)?;
        let count = match (count, from_env_count) {
            (Some(n), Some(m)) if n != m => {
                return Err(usage(
                    spec,
                    &format!("N is {n} but SLURM_ARRAY_TASK_COUNT is {m}"),
                ));
            }
            (Some(n), _) => n,
            (None, Some(m)) => m,
            (None, None) => {
                return Err(usage(
                    spec,
                    "JOB_COMPLETION_INDEX gives the shard but not the count: use --shard auto/N with N the Job's completions",
                ));
            }
        };
        Shard::checked(index, count, spec)
    }

    fn checked(index: u64, count: u64, spec: &str) -> Result<Shard, Failure> {
        if count == 0 || count > MAX_SHARDS {
            return Err(usage(spec, &format!("N must be from 1 to {MAX_SHARDS}")));
        }
        if index == 0 || index > count {
            return Err(usage(
                spec,
                &format!("K must be from 1 to N ({count}); shards are numbered from 1"),
            ));
        }
        Ok(Shard { index, count })
    }

    /// Whether the line with this `custom_id` is this shard's.
    pub fn contains(&self, custom_id: &str) -> bool {
        of(custom_id, self.count) == self.index
    }
}

/// The shard (from 1) of `custom_id` among `count`: the hash, mixed (FNV's low bits are weak),
/// scaled onto 1..=count.
pub fn of(custom_id: &str, count: u64) -> u64 {
    let h = mix(fnv1a(custom_id.as_bytes()));
    ((u128::from(h) * u128::from(count)) >> 64) as u64 + 1
}

/// MurmurHash3's 64-bit finaliser: every bit of the input moves every bit of the output.
fn mix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// This process's shard (from 1) and, when the scheduler gives it, the count.
fn scheduler(env: &impl Fn(&str) -> Option<String>) -> Result<(u64, Option<u64>), Failure> {
    let var = |name: &str| -> Result<Option<u64>, Failure> {
        match env(name) {
            None => Ok(None),
            Some(v) if v.trim().is_empty() => Ok(None),
            Some(v) => v.trim().parse::<u64>().map(Some).map_err(|_| {
                Failure::usage(format!("--shard auto: {name} is {v:?}, not a whole number"))
            }),
        }
    };
    if let Some(task) = var("SLURM_ARRAY_TASK_ID")? {
        // Array indices need not start at 0 (--array=1-4): count from the first.
        let min = var("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        let index = task.checked_sub(min).ok_or_else(|| {
            Failure::usage(format!(
                "--shard auto: SLURM_ARRAY_TASK_ID ({task}) is below SLURM_ARRAY_TASK_MIN ({min})"
            ))
        })?;
        return Ok((index + 1, var("SLURM_ARRAY_TASK_COUNT")?));
    }
    if let Some(index) = var("JOB_COMPLETION_INDEX")? {
        return Ok((index + 1, None));
    }
    Err(Failure::usage(
        "--shard auto: neither SLURM_ARRAY_TASK_ID (a Slurm job array) nor JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) is set; give --shard K/N",
    ))
}

fn number(text: &str, what: &str, spec: &str) -> Result<u64, Failure> {
    text.parse::<u64>()
        .map_err(|_| usage(spec, &format!("{what} ({text:?}) is not a whole number")))
}

fn usage(spec: &str, why: &str) -> Failure {
    Failure::usage(format!("--shard {spec:?}: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str) -> Option<String> {
        None
    }

    fn message(f: Failure) -> String {
        f.message().unwrap_or_default().to_owned()
    }

    #[test]
    fn explicit_shards_and_their_errors() {
        assert_eq!(
            Shard::parse("2/4", none).unwrap(),
            Shard { index: 2, count: 4 }
        );
        assert_eq!(Shard::parse(" 1 / 1 ", none).unwrap().count, 1);
        for (bad, says) in [
            ("0/4", "numbered from 1"),
            ("5/4", "from 1 to N (4)"),
            ("1/0", "N must be from 1"),
            ("1/99999999999", "N must be from 1"),
            ("x/4", "K (\"x\") is not a whole number"),
            ("-1/4", "is not a whole number"),
            ("3", "give K/N"),
            ("", "give K/N"),
            ("1/4/2", "is not a whole number"),
        ] {
            let m = message(Shard::parse(bad, none).unwrap_err());
            assert!(m.contains(says), "{bad:?}: {m}");
        }
    }

    #[test]
    fn schedulers_give_the_shard() {
        let slurm = |name: &str| match name {
            "SLURM_ARRAY_TASK_ID" => Some("5".to_owned()),
            "SLURM_ARRAY_TASK_MIN" => Some("4".to_owned()),
            "SLURM_ARRAY_TASK_COUNT" => Some("3".to_owned()),
            _ => None,
        };
        assert_eq!(
            Shard::parse("auto", slurm).unwrap(),
            Shard { index: 2, count: 3 }
        );
        assert_eq!(Shard::parse("auto/3", slurm).unwrap().index, 2);
        assert!(message(Shard::parse("auto/4", slurm).unwrap_err()).contains("COUNT is 3"));
        let k8s = |name: &str| (name == "JOB_COMPLETION_INDEX").then(|| "0".to_owned());
        assert_eq!(
            Shard::parse("auto/8", k8s).unwrap(),
            Shard { index: 1, count: 8 }
        );
        assert!(message(Shard::parse("auto", k8s).unwrap_err()).contains("auto/N"));
        assert!(message(Shard::parse("auto/2", none).unwrap_err()).contains("neither"));
        let junk = |name: &str| (name == "JOB_COMPLETION_INDEX").then(|| "one".to_owned());
        assert!(message(Shard::parse("auto/2", junk).unwrap_err()).contains("\"one\""));
        let out_of_range = |name: &str| (name == "JOB_COMPLETION_INDEX").then(|| "4".to_owned());
        assert!(Shard::parse("auto/4", out_of_range).is_err());
    }

    #[test]
    fn the_split_is_stable_and_even() {
        // Fixed forever: a shard must find its own lines again after an upgrade (the values
        // are computed independently, from FNV-1a and MurmurHash3's finaliser).
        let firsts: Vec<u64> = (0..8).map(|i| of(&format!("q-{i}"), 4)).collect();
        assert_eq!(firsts, [1, 3, 4, 3, 1, 3, 4, 2]);
        assert_eq!(of("request-1", 4), 4);
        assert_eq!(of("caf\u{e9}", 7), 7);
        let n = 40_000;
        let mut counts = [0u32; 4];
        for i in 0..n {
            let k = of(&format!("request-{i}"), 4);
            counts[(k - 1) as usize] += 1;
        }
        for c in counts {
            assert!((9_500..10_500).contains(&c), "{counts:?}");
        }
        assert_eq!(of("anything", 1), 1);
        let shards: Vec<Shard> = (1..=3).map(|index| Shard { index, count: 3 }).collect();
        for id in ["a", "b", "caf\u{e9}", ""] {
            assert_eq!(shards.iter().filter(|s| s.contains(id)).count(), 1, "{id}");
        }
    }
}
