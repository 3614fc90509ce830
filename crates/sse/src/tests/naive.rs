//! A slow, obviously correct decoder for whole inputs, written straight from
//! the WHATWG "interpreting an event stream" steps, to check [`Decoder`]
//! against.
//!
//! It works on the whole input at once: strip a leading BOM, split into lines
//! on CRLF, CR or LF, decode each line as lossy UTF-8 (CR, LF and `:` are
//! ASCII, so this equals decoding the stream first), then run the per-line
//! steps on strings. The limits and the `Truncated` tail follow the crate's
//! documented rules.
//!
//! [`Decoder`]: crate::Decoder

use crate::{Error, OwnedEvent, OwnedFrame};

/// The spec's buffers plus the bookkeeping for limits and truncation.
#[derive(Default)]
struct State {
    data: String,
    event_type: String,
    last_event_id: String,
    event_retry: Option<u64>,
    /// Byte offset of the pending event's first field line.
    event_start: Option<usize>,
    event_len: usize,
    skipping: bool,
}

impl State {
    fn reset_event(&mut self) {
        self.data.clear();
        self.event_type.clear();
        self.event_retry = None;
        self.event_start = None;
        self.event_len = 0;
    }
}

pub(crate) fn decode(input: &[u8], max_line_len: usize, max_event_len: usize) -> Vec<OwnedFrame> {
    let input = input.strip_prefix(b"\xEF\xBB\xBF".as_slice()).unwrap_or(input);

    // Split into lines: (start, end) of each line that has a line end.
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'\n' => {
                lines.push((start, i));
                start = i + 1;
            }
            b'\r' => {
                lines.push((start, i));
                if input.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    let tail_start = start;

    let mut frames = Vec::new();
    let mut state = State::default();
    for (start, end) in lines {
        let line = &input[start..end];
        if state.skipping {
            if line.is_empty() {
                state.skipping = false;
            }
            continue;
        }
        if line.is_empty() {
            dispatch(&mut state, &mut frames);
            continue;
        }
        if line.len() > max_line_len {
            frames.push(OwnedFrame::Skipped(Error::LineTooLong { limit: max_line_len }));
            state.reset_event();
            state.skipping = true;
            continue;
        }
        let text = String::from_utf8_lossy(line);
        let comment = text.starts_with(':');
        if !comment || state.event_start.is_some() {
            state.event_start.get_or_insert(start);
            state.event_len += line.len();
            if state.event_len > max_event_len {
                frames.push(OwnedFrame::Skipped(Error::EventTooLong { limit: max_event_len }));
                state.reset_event();
                state.skipping = true;
                continue;
            }
        }
        if let Some(comment) = text.strip_prefix(':') {
            frames.push(OwnedFrame::Comment(comment.to_owned()));
            continue;
        }
        let (field, value) = match text.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (&*text, ""),
        };
        process_field(&mut state, field, value);
    }

    let tail = &input[tail_start..];
    if !state.skipping {
        if tail.len() > max_line_len {
            frames.push(OwnedFrame::Skipped(Error::LineTooLong { limit: max_line_len }));
        } else if let Some(start) = state.event_start.or((!tail.is_empty()).then_some(tail_start)) {
            frames
                .push(OwnedFrame::Truncated(String::from_utf8_lossy(&input[start..]).into_owned()));
        }
    }
    frames
}

fn process_field(state: &mut State, field: &str, value: &str) {
    match field {
        "event" => state.event_type = value.to_owned(),
        "data" => {
            state.data.push_str(value);
            state.data.push('\n');
        }
        "id" if !value.contains('\0') => state.last_event_id = value.to_owned(),
        "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
            let mut millis: u64 = 0;
            for digit in value.bytes() {
                millis = millis.saturating_mul(10).saturating_add(u64::from(digit - b'0'));
            }
            state.event_retry = Some(millis);
        }
        // An `id` with NUL, an invalid `retry`, or an unknown field.
        _ => {}
    }
}

fn dispatch(state: &mut State, frames: &mut Vec<OwnedFrame>) {
    if !state.data.is_empty() {
        let mut data = state.data.clone();
        if data.ends_with('\n') {
            data.pop();
        }
        let event = if state.event_type.is_empty() { "message" } else { &state.event_type };
        let id = &state.last_event_id;
        frames.push(OwnedFrame::Event(OwnedEvent {
            event: event.to_owned(),
            data,
            id: if id.is_empty() { None } else { Some(id.clone()) },
            retry: state.event_retry,
        }));
    }
    state.reset_event();
}
