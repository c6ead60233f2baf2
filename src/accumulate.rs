//! Accumulators: turn streamed chunks into the response a non-streamed call returns.
//!
//! Plain data code shared by both modes. Usable while streaming (the text so far) and at the
//! end ([`ChatCompletionAccumulator::finish`]).

use std::collections::HashMap;

use crate::types::{
    ChatChoice, ChatCompletion, ChatCompletionChunk, ChatLogprobs, Completion, CompletionChoice,
    ToolCall, Usage,
};

/// The [`Head`] of a `ChatCompletion` or a `Completion` (same field names, different types).
macro_rules! head {
    ($out:expr) => {
        Head {
            id: &mut $out.id,
            created: &mut $out.created,
            model: &mut $out.model,
            object: &mut $out.object,
            fingerprint: &mut $out.system_fingerprint,
            usage: &mut $out.usage,
        }
    };
}

/// Merges [`ChatCompletionChunk`]s into a [`ChatCompletion`]: content, reasoning and refusal
/// concatenated, tool calls merged by their `index` (id, name, argument fragments), every
/// choice of `n > 1` by its index, logprobs, finish and stop reasons, token ids and usage.
///
/// ```
/// use oai_compat::ChatCompletionAccumulator;
/// use oai_compat::types::ChatCompletionChunk;
/// let chunks = [
///     r#"{"id":"c1","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}"#,
///     r#"{"id":"c1","model":"m","choices":[{"index":0,"delta":{"content":"Hel"}}]}"#,
///     r#"{"id":"c1","model":"m","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}"#,
/// ];
/// let mut acc = ChatCompletionAccumulator::new();
/// for c in chunks {
///     acc.push(&serde_json::from_str::<ChatCompletionChunk>(c).unwrap());
/// }
/// assert_eq!(acc.content(0), "Hello");
/// let done = acc.finish();
/// assert_eq!(done.text(), Some("Hello"));
/// assert_eq!(done.object, "chat.completion");
/// ```
#[derive(Debug, Clone, Default)]
pub struct ChatCompletionAccumulator {
    out: ChatCompletion,
    /// Where each choice index sits in `out.choices`.
    choice_slots: HashMap<u32, usize>,
    /// Where each `(choice index, tool-call index)` sits in its choice's `tool_calls`.
    tool_slots: HashMap<(u32, u32), usize>,
}

impl ChatCompletionAccumulator {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one chunk.
    pub fn push(&mut self, chunk: &ChatCompletionChunk) {
        let out = &mut self.out;
        head!(out).update(
            "chat.completion",
            (&chunk.id, chunk.created, &chunk.model),
            &chunk.system_fingerprint,
            &chunk.usage,
        );
        for c in &chunk.choices {
            let choice = slot(&mut out.choices, &mut self.choice_slots, c.index, |index| {
                ChatChoice {
                    index,
                    ..ChatChoice::default()
                }
            });
            let d = &c.delta;
            if let Some(role) = &d.role {
                choice.message.role = role.clone();
            }
            append(&mut choice.message.content, d.content.as_deref());
            append(&mut choice.message.reasoning, d.reasoning.as_deref());
            append(&mut choice.message.refusal, d.refusal.as_deref());
            for tc in d.tool_calls.iter().flatten() {
                let calls = choice.message.tool_calls.get_or_insert_with(Vec::new);
                let slot = *self
                    .tool_slots
                    .entry((c.index, tc.index))
                    .or_insert_with(|| {
                        calls.push(ToolCall {
                            kind: "function".to_owned(),
                            ..ToolCall::default()
                        });
                        calls.len() - 1
                    });
                let call = &mut calls[slot];
                if let Some(id) = tc.id.as_deref().filter(|s| !s.is_empty()) {
                    id.clone_into(&mut call.id);
                }
                if let Some(kind) = tc.kind.as_deref().filter(|s| !s.is_empty()) {
                    kind.clone_into(&mut call.kind);
                }
                if let Some(f) = &tc.function {
                    // The name comes whole in one delta; later deltas repeat it or leave it out.
                    if let Some(name) = f.name.as_deref().filter(|s| !s.is_empty()) {
                        if call.function.name.is_empty() {
                            name.clone_into(&mut call.function.name);
                        }
                    }
                    if let Some(args) = &f.arguments {
                        call.function.arguments.push_str(args);
                    }
                }
            }
            if c.finish_reason.is_some() {
                choice.finish_reason.clone_from(&c.finish_reason);
            }
            if c.stop_reason.is_some() {
                choice.stop_reason.clone_from(&c.stop_reason);
            }
            if let Some(ids) = &c.token_ids {
                choice
                    .token_ids
                    .get_or_insert_with(Vec::new)
                    .extend_from_slice(ids);
            }
            if let Some(lp) = &c.logprobs {
                merge_logprobs(
                    choice.logprobs.get_or_insert_with(ChatLogprobs::default),
                    lp,
                );
            }
        }
    }

    /// The content of choice `index` so far (`""` if none yet).
    pub fn content(&self, index: u32) -> &str {
        self.choice_slots
            .get(&index)
            .and_then(|&i| self.out.choices[i].message.content.as_deref())
            .unwrap_or("")
    }

    /// The completion as accumulated so far, choices in index order.
    pub fn snapshot(&self) -> ChatCompletion {
        self.clone().finish()
    }

    /// The accumulated completion, choices in index order.
    pub fn finish(self) -> ChatCompletion {
        let mut out = self.out;
        out.choices.sort_by_key(|c| c.index);
        out
    }
}

/// Merges partial [`Completion`]s (the chunks of a streamed `/completions` call) into one.
///
/// ```
/// use oai_compat::CompletionAccumulator;
/// use oai_compat::types::Completion;
/// let mut acc = CompletionAccumulator::new();
/// for c in [r#"{"id":"x","choices":[{"index":0,"text":"Once "}]}"#,
///           r#"{"id":"x","choices":[{"index":0,"text":"upon","finish_reason":"length"}]}"#] {
///     acc.push(&serde_json::from_str::<Completion>(c).unwrap());
/// }
/// assert_eq!(acc.text(0), "Once upon");
/// assert_eq!(acc.finish().text(), "Once upon");
/// ```
#[derive(Debug, Clone, Default)]
pub struct CompletionAccumulator {
    out: Completion,
    /// Where each choice index sits in `out.choices`.
    choice_slots: HashMap<u32, usize>,
}

impl CompletionAccumulator {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one chunk.
    pub fn push(&mut self, chunk: &Completion) {
        let out = &mut self.out;
        head!(out).update(
            "text_completion",
            (&chunk.id, chunk.created, &chunk.model),
            &chunk.system_fingerprint,
            &chunk.usage,
        );
        for c in &chunk.choices {
            let choice = slot(&mut out.choices, &mut self.choice_slots, c.index, |index| {
                CompletionChoice {
                    index,
                    ..CompletionChoice::default()
                }
            });
            choice.text.push_str(&c.text);
            if c.finish_reason.is_some() {
                choice.finish_reason.clone_from(&c.finish_reason);
            }
            if c.stop_reason.is_some() {
                choice.stop_reason.clone_from(&c.stop_reason);
            }
            if let Some(ids) = &c.token_ids {
                choice
                    .token_ids
                    .get_or_insert_with(Vec::new)
                    .extend_from_slice(ids);
            }
            if let Some(lp) = &c.logprobs {
                let acc = choice.logprobs.get_or_insert_with(Default::default);
                acc.tokens.extend(lp.tokens.iter().cloned());
                acc.token_logprobs.extend(lp.token_logprobs.iter().copied());
                acc.top_logprobs.extend(lp.top_logprobs.iter().cloned());
                acc.text_offset.extend(lp.text_offset.iter().copied());
            }
        }
    }

    /// The text of choice `index` so far (`""` if none yet).
    pub fn text(&self, index: u32) -> &str {
        self.choice_slots
            .get(&index)
            .map_or("", |&i| self.out.choices[i].text.as_str())
    }

    /// The accumulated completion, choices in index order.
    pub fn finish(self) -> Completion {
        let mut out = self.out;
        out.choices.sort_by_key(|c| c.index);
        out
    }
}

/// The top-level fields both accumulated responses have.
struct Head<'a> {
    id: &'a mut String,
    created: &'a mut u64,
    model: &'a mut String,
    object: &'a mut String,
    fingerprint: &'a mut Option<String>,
    usage: &'a mut Option<Usage>,
}

impl Head<'_> {
    /// Identity from the first chunk; fingerprint and usage from whichever chunk has them.
    fn update(
        self,
        object: &str,
        (id, created, model): (&str, u64, &str),
        fingerprint: &Option<String>,
        usage: &Option<Usage>,
    ) {
        if self.id.is_empty() {
            id.clone_into(self.id);
            *self.created = created;
            model.clone_into(self.model);
            object.clone_into(self.object);
        }
        if fingerprint.is_some() {
            self.fingerprint.clone_from(fingerprint);
        }
        if usage.is_some() {
            self.usage.clone_from(usage);
        }
    }
}

/// The choice with `index`, added if new: found through `slots` (index -> position), so a
/// chunk with many choices costs linear time, not quadratic.
fn slot<'a, C>(
    choices: &'a mut Vec<C>,
    slots: &mut HashMap<u32, usize>,
    index: u32,
    new: fn(u32) -> C,
) -> &'a mut C {
    let pos = *slots.entry(index).or_insert_with(|| {
        choices.push(new(index));
        choices.len() - 1
    });
    &mut choices[pos]
}

fn append(to: &mut Option<String>, piece: Option<&str>) {
    if let Some(p) = piece {
        to.get_or_insert_with(String::new).push_str(p);
    }
}

fn merge_logprobs(acc: &mut ChatLogprobs, lp: &ChatLogprobs) {
    if let Some(c) = &lp.content {
        acc.content
            .get_or_insert_with(Vec::new)
            .extend(c.iter().cloned());
    }
    if let Some(r) = &lp.refusal {
        acc.refusal
            .get_or_insert_with(Vec::new)
            .extend(r.iter().cloned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{FinishReason, Role};

    fn chunk(v: serde_json::Value) -> ChatCompletionChunk {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn merges_choices_tool_calls_reasoning_and_usage() {
        let mut acc = ChatCompletionAccumulator::new();
        let parts = [
            serde_json::json!({"id":"c","created":5,"model":"m","choices":[
                {"index":1,"delta":{"role":"assistant","content":""}},
                {"index":0,"delta":{"role":"assistant","reasoning_content":"think "}}]}),
            serde_json::json!({"id":"c","model":"m","choices":[
                {"index":0,"delta":{"reasoning":"more"}},
                {"index":1,"delta":{"content":"B1"}}]}),
            serde_json::json!({"id":"c","model":"m","choices":[{"index":0,"delta":{"tool_calls":[
                {"index":0,"id":"call_1","type":"function","function":{"name":"get","arguments":"{\"ci"}},
                {"index":1,"id":"call_2","type":"function","function":{"name":"put","arguments":""}}]}}]}),
            serde_json::json!({"id":"c","model":"m","choices":[{"index":0,"delta":{"tool_calls":[
                {"index":0,"function":{"arguments":"ty\":1}"}},
                {"index":1,"function":{"arguments":"{}"}}]},"finish_reason":"tool_calls"}]}),
            serde_json::json!({"id":"c","model":"m","choices":[{"index":1,"delta":{},"finish_reason":"stop","stop_reason":7,"token_ids":[1,2]}]}),
            serde_json::json!({"id":"c","model":"m","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}),
        ];
        for p in parts {
            acc.push(&chunk(p));
        }
        assert_eq!(acc.content(1), "B1");
        assert_eq!(acc.content(0), "");
        let out = acc.finish();
        assert_eq!(out.id, "c");
        assert_eq!(out.created, 5);
        assert_eq!(
            out.choices.iter().map(|c| c.index).collect::<Vec<_>>(),
            [0, 1]
        );
        let c0 = &out.choices[0];
        assert_eq!(c0.message.role, Role::Assistant);
        assert_eq!(c0.message.reasoning.as_deref(), Some("think more"));
        assert_eq!(c0.message.content, None);
        let calls = c0.message.tool_calls.as_ref().unwrap();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].id, "call_1");
        assert_eq!(calls[0].function.name, "get");
        assert_eq!(calls[0].function.arguments, "{\"city\":1}");
        assert_eq!(calls[1].function.arguments, "{}");
        assert_eq!(c0.finish_reason, Some(FinishReason::ToolCalls));
        let c1 = &out.choices[1];
        assert_eq!(c1.finish_reason, Some(FinishReason::Stop));
        assert_eq!(c1.token_ids.as_deref(), Some(&[1, 2][..]));
        assert_eq!(out.usage.as_ref().unwrap().total_tokens, 7);
    }

    #[test]
    fn many_choices_in_one_chunk_take_linear_time() {
        // 100,000 choices in one event, then a second event touching each again: with a scan
        // per choice this took 16 s; with the index it is well under a second (debug build).
        let n = 100_000u32;
        let choices = |text: &str| -> Vec<serde_json::Value> {
            (0..n)
                .rev()
                .map(|i| serde_json::json!({"index": i, "delta": {"content": text}}))
                .collect()
        };
        let first = chunk(serde_json::json!({"id":"c","choices": choices("a")}));
        let second = chunk(serde_json::json!({"id":"c","choices": choices("b")}));
        let mut acc = ChatCompletionAccumulator::new();
        let t = std::time::Instant::now();
        acc.push(&first);
        acc.push(&second);
        let took = t.elapsed();
        assert!(took < std::time::Duration::from_secs(2), "{took:?}");
        assert_eq!(acc.content(0), "ab");
        assert_eq!(acc.content(n - 1), "ab");
        let out = acc.finish();
        assert_eq!(out.choices.len(), n as usize);
        assert_eq!(out.choices[7].index, 7);
        let mut comp = CompletionAccumulator::new();
        let texts = |t: &str| -> Vec<serde_json::Value> {
            (0..n)
                .map(|i| serde_json::json!({"index": i, "text": t}))
                .collect()
        };
        let parts: Vec<Completion> = ["x", "y"]
            .iter()
            .map(|p| {
                serde_json::from_value(serde_json::json!({"id":"x","choices": texts(p)})).unwrap()
            })
            .collect();
        let t = std::time::Instant::now();
        for part in &parts {
            comp.push(part);
        }
        assert!(
            t.elapsed() < std::time::Duration::from_secs(2),
            "{:?}",
            t.elapsed()
        );
        assert_eq!(comp.text(n - 1), "xy");
    }

    #[test]
    fn logprobs_are_concatenated() {
        let mut acc = ChatCompletionAccumulator::new();
        for t in ["a", "b"] {
            acc.push(&chunk(
                serde_json::json!({"id":"c","choices":[{"index":0,"delta":{"content":t},
                "logprobs":{"content":[{"token":t,"logprob":-0.5,"top_logprobs":[]}]}}]}),
            ));
        }
        let snap = acc.snapshot();
        let lp = snap.choices[0]
            .logprobs
            .as_ref()
            .unwrap()
            .content
            .as_ref()
            .unwrap();
        assert_eq!(
            lp.iter().map(|t| t.token.as_str()).collect::<String>(),
            "ab"
        );
        assert_eq!(snap.text(), Some("ab"));
    }

    #[test]
    fn completion_logprobs_and_choices() {
        let mut acc = CompletionAccumulator::new();
        for v in [
            serde_json::json!({"id":"x","choices":[{"index":1,"text":"B"},{"index":0,"text":"A","logprobs":{"tokens":["A"],"token_logprobs":[-1.0],"top_logprobs":[null],"text_offset":[0]}}]}),
            serde_json::json!({"id":"x","choices":[{"index":0,"text":"a","finish_reason":"length","logprobs":{"tokens":["a"],"token_logprobs":[-2.0],"top_logprobs":[null],"text_offset":[1]}}],"usage":{"prompt_tokens":1,"total_tokens":3,"completion_tokens":2}}),
        ] {
            acc.push(&serde_json::from_value(v).unwrap());
        }
        let out = acc.finish();
        assert_eq!(out.choices[0].text, "Aa");
        assert_eq!(out.choices[1].text, "B");
        let lp = out.choices[0].logprobs.as_ref().unwrap();
        assert_eq!(lp.tokens, ["A", "a"]);
        assert_eq!(lp.text_offset, [0, 1]);
        assert_eq!(out.usage.unwrap().total_tokens, 3);
    }
}
