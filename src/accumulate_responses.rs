//! [`ResponseAccumulator`]: rebuilds the final [`ResponseObject`] of a streamed Responses API
//! call from its events, and [`ResponseStream::final_response`] which drives it.

use crate::error::{Error, Result, StreamErrorKind};
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
/// A server that sends no `*.added` events still works: deltas create what they need. The
/// items and parts created for indexes an event skips over (placeholders) are bounded in
/// total, so indexes a server makes up cannot make it allocate more than the events do.
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
    /// Placeholders created so far (see [`MAX_PLACEHOLDERS`]).
    placeholders: usize,
}

/// The most output items and message parts, all together, created for indexes that events
/// skip over. The item or part an event addresses costs one slot and comes with its event;
/// the ones before it are placeholders, and without a bound in total a stream of small
/// events with far indexes (output `i`, content 4,095) would build millions of parts. An
/// event whose index would pass the bound is dropped.
const MAX_PLACEHOLDERS: usize = 4096;

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
        slot(
            &mut self.response.output,
            index,
            &mut self.placeholders,
            || OutputItem::Message(OutputMessage::default()),
        )
    }

    /// The content part `content` of the message at `output`, creating what is missing.
    fn part(&mut self, output: usize, item_id: &str, content: usize) -> Option<&mut OutputContent> {
        let placeholders = &mut self.placeholders;
        let item = slot(&mut self.response.output, output, placeholders, || {
            OutputItem::Message(OutputMessage::default())
        });
        let OutputItem::Message(m) = item? else {
            return None;
        };
        if m.id.is_empty() {
            m.id = item_id.to_owned();
        }
        slot(&mut m.content, content, placeholders, || {
            OutputContent::OutputText(OutputText::default())
        })
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

/// `items[index]`, made (with `make`) if missing, as are the placeholders before it; `None`,
/// and nothing made, when that would take `placeholders` past [`MAX_PLACEHOLDERS`].
fn slot<'a, T>(
    items: &'a mut Vec<T>,
    index: usize,
    placeholders: &mut usize,
    make: impl Fn() -> T,
) -> Option<&'a mut T> {
    let skipped = index.saturating_sub(items.len());
    if skipped > 0 {
        let total = placeholders.saturating_add(skipped);
        if total > MAX_PLACEHOLDERS {
            return None;
        }
        *placeholders = total;
    }
    while items.len() <= index {
        items.push(make());
    }
    items.get_mut(index)
}

#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
impl ResponseStream {
    /// Reads the rest of the stream and returns the final response, rebuilt by a
    /// [`ResponseAccumulator`]. Errors as the stream does (in-band failure, truncation,
    /// timeouts); a stream that ends (`data: [DONE]` included) before a
    /// `response.completed` or `response.incomplete` event is a `Truncated`
    /// [`Error::Stream`]: its output is partial.
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
        let mut events = 0u64;
        while let Some(event) = self.try_next().await? {
            events += 1;
            acc.push(&event);
        }
        if !acc.is_finished() {
            // Some servers end every stream with `[DONE]`, which ends the stream before a
            // final event could: the output is as partial as a cut body's.
            let mut e = Error::stream(
                StreamErrorKind::Truncated,
                format!(
                    "the stream ended without a `response.completed`, `response.incomplete` or `response.failed` event after {events} event(s)"
                ),
            );
            if let Error::Stream(s) = &mut e {
                s.request_id = self.request_id().map(str::to_owned);
            }
            e.set_retries_taken(self.meta().retries_taken);
            return Err(e);
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
