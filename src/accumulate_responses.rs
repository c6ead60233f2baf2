//! [`ResponseAccumulator`]: rebuilds the final [`ResponseObject`] of a streamed Responses API
//! call from its events, and [`ResponseStream::final_response`] which drives it.

use crate::error::Result;
use crate::resources::responses::ResponseStream;
use crate::types::{
    FunctionCallItem, OutputContent, OutputItem, OutputMessage, OutputText, ResponseObject,
    ResponseStreamEvent,
};

/// Rebuilds a streamed response from its [`ResponseStreamEvent`]s.
///
/// Output items are placed by `output_index`, message parts by `content_index`; text and
/// function-call arguments grow by their deltas. The final event (`response.completed` /
/// `response.incomplete`) supplies the status, usage and the rest; its `output` replaces the
/// accumulated one only when it has one (some servers send a final response without output).
/// A server that sends no `*.added` events still works: deltas create what they need.
///
/// ```
/// use oai_compat::ResponseAccumulator;
/// use oai_compat::types::ResponseStreamEvent;
/// let events: Vec<ResponseStreamEvent> = serde_json::from_str(r#"[
///   {"type":"response.output_text.delta","item_id":"m","output_index":0,"content_index":0,"delta":"Hel"},
///   {"type":"response.output_text.delta","item_id":"m","output_index":0,"content_index":0,"delta":"lo"}
/// ]"#)?;
/// let mut acc = ResponseAccumulator::new();
/// for e in &events {
///     acc.push(e);
/// }
/// assert_eq!(acc.response().output_text(), "Hello");
/// # Ok::<_, serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct ResponseAccumulator {
    response: ResponseObject,
    finished: bool,
}

/// The most output items or parts an event index may create: a bound on what a lying
/// `output_index` can make the accumulator allocate.
const MAX_INDEX: usize = 4096;

impl ResponseAccumulator {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// True once a final event (`completed`, `incomplete` or `failed`) has been pushed.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The response as accumulated so far.
    pub fn response(&self) -> &ResponseObject {
        &self.response
    }

    /// The accumulated response.
    pub fn into_response(self) -> ResponseObject {
        self.response
    }

    /// Adds one event.
    pub fn push(&mut self, event: &ResponseStreamEvent) {
        use ResponseStreamEvent as E;
        match event {
            E::Created(e) | E::InProgress(e) | E::Queued(e) => {
                let output = std::mem::take(&mut self.response.output);
                self.response = e.response.clone();
                if self.response.output.is_empty() {
                    self.response.output = output;
                }
            }
            E::Completed(e) | E::Incomplete(e) | E::Failed(e) => {
                let output = std::mem::take(&mut self.response.output);
                self.response = e.response.clone();
                if self.response.output.is_empty() {
                    self.response.output = output;
                }
                self.finished = true;
            }
            E::OutputItemAdded(e) | E::OutputItemDone(e) => {
                if let Some(slot) = self.item(e.output_index) {
                    *slot = e.item.clone();
                }
            }
            E::ContentPartAdded(e) | E::ContentPartDone(e) => {
                if let Some(part) = self.part(e.output_index, &e.item_id, e.content_index) {
                    *part = e.part.clone();
                }
            }
            E::OutputTextDelta(d) => {
                if let Some(OutputContent::OutputText(t)) =
                    self.part(d.output_index, &d.item_id, d.content_index)
                {
                    t.text.push_str(&d.delta);
                }
            }
            E::RefusalDelta(d) => {
                if let Some(part) = self.part(d.output_index, &d.item_id, d.content_index) {
                    match part {
                        OutputContent::Refusal { refusal } => refusal.push_str(&d.delta),
                        other => {
                            *other = OutputContent::Refusal {
                                refusal: d.delta.clone(),
                            }
                        }
                    }
                }
            }
            E::FunctionCallArgumentsDelta(d) => {
                if let Some(call) = self.call(d.output_index, &d.item_id) {
                    call.arguments.push_str(&d.delta);
                }
            }
            E::FunctionCallArgumentsDone(d) => {
                if let Some(call) = self.call(d.output_index, &d.item_id) {
                    call.arguments.clone_from(&d.text);
                }
            }
            // The `*.done` text repeats the deltas, and the items' `done` events carry the
            // whole part; reasoning is rebuilt from `output_item.done`.
            _ => {}
        }
    }

    /// The output item at `index`, creating empty messages up to it (bounded).
    fn item(&mut self, index: usize) -> Option<&mut OutputItem> {
        if index >= MAX_INDEX {
            return None;
        }
        let output = &mut self.response.output;
        while output.len() <= index {
            output.push(OutputItem::Message(OutputMessage::default()));
        }
        output.get_mut(index)
    }

    /// The content part `content` of the message at `output`, creating what is missing.
    fn part(&mut self, output: usize, item_id: &str, content: usize) -> Option<&mut OutputContent> {
        if content >= MAX_INDEX {
            return None;
        }
        let OutputItem::Message(m) = self.item(output)? else {
            return None;
        };
        if m.id.is_empty() {
            m.id = item_id.to_owned();
        }
        while m.content.len() <= content {
            m.content
                .push(OutputContent::OutputText(OutputText::default()));
        }
        m.content.get_mut(content)
    }

    /// The function call at `output`, turning a placeholder message into one.
    fn call(&mut self, output: usize, item_id: &str) -> Option<&mut FunctionCallItem> {
        let item = self.item(output)?;
        if let OutputItem::Message(m) = item {
            if m.content.is_empty() {
                *item = OutputItem::FunctionCall(FunctionCallItem {
                    id: Some(item_id.to_owned()),
                    ..Default::default()
                });
            }
        }
        match item {
            OutputItem::FunctionCall(c) => Some(c),
            _ => None,
        }
    }
}

#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
impl ResponseStream {
    /// Reads the rest of the stream and returns the final response, rebuilt by a
    /// [`ResponseAccumulator`]. Errors as the stream does (in-band failure, truncation,
    /// timeouts).
    ///
    #[cfg_attr(feature = "blocking", doc = "```no_run")]
    // Written for the blocking signatures; in async mode every call here is `.await`ed.
    #[cfg_attr(not(feature = "blocking"), doc = "```ignore")]
    /// use oai_compat::{Client, types::ResponseRequest};
    /// let client = Client::builder().base_url("http://localhost:8000/v1").build()?;
    /// let stream = client.responses().create_stream(&ResponseRequest::new("my-model", "Hi"))?;
    /// let response = stream.final_response()?;
    /// println!("{}", response.output_text());
    /// # Ok::<_, oai_compat::Error>(())
    /// ```
    pub async fn final_response(mut self) -> Result<ResponseObject> {
        let mut acc = ResponseAccumulator::new();
        while let Some(event) = self.try_next().await? {
            acc.push(&event);
        }
        Ok(acc.into_response())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn events(v: Value) -> Vec<ResponseStreamEvent> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn rebuilds_messages_and_calls() {
        let evs = events(json!([
            {"type": "response.created", "response": {"id": "r", "status": "in_progress", "output": []}},
            {"type": "response.output_item.added", "output_index": 0,
             "item": {"type": "message", "id": "m", "role": "assistant", "content": []}},
            {"type": "response.content_part.added", "item_id": "m", "output_index": 0,
             "content_index": 0, "part": {"type": "output_text", "text": ""}},
            {"type": "response.output_text.delta", "item_id": "m", "output_index": 0,
             "content_index": 0, "delta": "Hel"},
            {"type": "response.output_text.delta", "item_id": "m", "output_index": 0,
             "content_index": 0, "delta": "lo"},
            {"type": "response.output_item.added", "output_index": 1,
             "item": {"type": "function_call", "id": "fc", "call_id": "c", "name": "f", "arguments": ""}},
            {"type": "response.function_call_arguments.delta", "item_id": "fc", "output_index": 1, "delta": "{\"a\""},
            {"type": "response.function_call_arguments.delta", "item_id": "fc", "output_index": 1, "delta": ":1}"},
            {"type": "response.something_new", "x": 1},
            {"type": "response.completed", "response": {"id": "r", "status": "completed", "output": [],
             "usage": {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3}}}
        ]));
        let mut acc = ResponseAccumulator::new();
        for e in &evs {
            assert!(!acc.is_finished());
            acc.push(e);
        }
        assert!(acc.is_finished());
        let r = acc.into_response();
        assert_eq!(r.output_text(), "Hello");
        assert_eq!(r.function_calls().next().unwrap().arguments, "{\"a\":1}");
        assert_eq!(r.function_calls().next().unwrap().call_id, "c");
        assert_eq!(r.usage.unwrap().total_tokens, 3);
    }

    #[test]
    fn deltas_alone_and_hostile_indexes() {
        let evs = events(json!([
            {"type": "response.output_text.delta", "item_id": "m", "output_index": 1,
             "content_index": 1, "delta": "x"},
            {"type": "response.output_text.delta", "item_id": "m", "output_index": 99999999,
             "content_index": 0, "delta": "lost"},
            {"type": "response.output_text.delta", "item_id": "m", "output_index": 0,
             "content_index": 99999999, "delta": "lost"},
            {"type": "response.refusal.delta", "item_id": "q", "output_index": 2,
             "content_index": 0, "delta": "no"}
        ]));
        let mut acc = ResponseAccumulator::new();
        for e in &evs {
            acc.push(e);
        }
        let r = acc.response();
        assert_eq!(r.output.len(), 3);
        assert_eq!(r.output_text(), "x");
        assert_eq!(r.refusal(), Some("no"));
    }
}
