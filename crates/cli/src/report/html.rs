//! The report as one HTML page: header cards, six charts drawn as inline
//! SVG by hand (bars, dumbbells and boxes need no plotting library), the
//! slowest streams as a table. No script, no external resource; a
//! Content-Security-Policy forbids both, should a string ever slip out
//! unescaped. Every string that comes from the input (model names, paths,
//! filter categories, ids) goes through [`esc`].
//!
//! Each chart is a `<figure>` with a fixed id (`chart-thinking-tax`,
//! `chart-thinking`, `chart-reasoning-share`, `chart-tokens`,
//! `chart-outcomes`, `chart-filters`) holding one `<svg>`; a chart without
//! data says why in its SVG. Cards are `<div class="card" id="card-…"
//! data-value="N">`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write;

use super::{Class, MAX_MODELS, ModelStats, Report, SLOWEST, Slow};
use crate::analyze::Summary;

/// The ids of the charts, in page order.
pub(crate) const CHARTS: [&str; 6] = [
    "chart-thinking-tax",
    "chart-thinking",
    "chart-reasoning-share",
    "chart-tokens",
    "chart-outcomes",
    "chart-filters",
];

/// Filter categories charted one by one (most events first); the rest are one row.
const MAX_CATEGORIES: usize = 20;

// Geometry of a chart, in SVG user units.
const WIDTH: f64 = 1080.0;
const LABEL_W: f64 = 230.0;
const X0: f64 = 240.0;
const X1: f64 = 860.0;
const ROW: f64 = 30.0;
const TOP: f64 = 34.0;
const AXIS_H: f64 = 28.0;

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;max-width:1120px;\
color:#1f2328;background:#fff;padding:0 16px}\
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 4px}\
p.note{color:#57606a;margin:0 0 8px;font-size:14px}\
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}\
.card{border:1px solid #d0d7de;border-radius:8px;padding:10px 14px;min-width:130px;background:#f6f8fa}\
.card .v{font-size:26px;font-weight:600}.card .k{font-size:13px;color:#57606a}\
.card .s{font-size:12px;color:#57606a}\
figure{margin:0}svg{display:block;max-width:100%;height:auto}\
svg text{font-size:12px;fill:#1f2328}svg .muted{fill:#57606a}\
table{border-collapse:collapse;font-size:13px;width:100%}\
th,td{border-bottom:1px solid #d0d7de;padding:4px 6px;text-align:left;vertical-align:top}\
td.n{text-align:right;white-space:nowrap}td.src{word-break:break-all}\
footer{margin-top:32px;font-size:12px;color:#57606a;white-space:pre-wrap;\
font-family:ui-monospace,'DejaVu Sans Mono',monospace}";

/// Colours: first token, first answer; reasoning, answer.
const C_FIRST: &str = "#0969da";
const C_ANSWER: &str = "#e16f24";
const C_REASONING: &str = "#8250df";
const C_TEXT: &str = "#1a7f37";
/// One colour per [`Class`], in [`Class::ALL`]'s order.
const C_CLASSES: [&str; 6] = ["#cf222e", "#6e7781", "#8250df", "#0969da", "#1a7f37", "#d4a72c"];

/// The whole page.
pub(crate) fn page(report: &Report, summary: &Summary) -> String {
    let mut out = String::with_capacity(64 * 1024);
    out.push_str(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>thinktee report</title><style>",
    );
    out.push_str(STYLE);
    out.push_str("</style></head><body>\n<h1>thinktee report</h1>\n");
    let f = &summary.files;
    let _ = writeln!(
        out,
        "<p class=\"note\">{} streams from {} files ({} recordings, {} transcripts, {} skipped, \
         {} malformed). Timings come from transcripts only; token charts use the counts the API \
         reported, never estimates.</p>",
        num(report.all.streams),
        num(f.total),
        num(f.recordings),
        num(f.transcripts),
        num(f.skipped),
        num(f.malformed)
    );
    cards(&mut out, report, summary);
    section(
        &mut out,
        "The thinking tax: time to first token against time to first answer",
        "Per model: the first token of any kind (blue) and the first token of the answer \
         (orange), at the median (thick) and the 90th percentile (thin). The gap is the time \
         spent thinking before answering.",
    );
    thinking_tax(&mut out, report);
    section(
        &mut out,
        "Thinking duration",
        "Per model: box from the 25th to the 75th percentile, median line, whiskers from the \
         10th to the 90th percentile, dot at the 99th.",
    );
    thinking(&mut out, report);
    section(
        &mut out,
        "Reasoning share of output tokens",
        &format!(
            "Per model: reasoning (purple) and answer (green) tokens, summed over the streams \
             whose API reported both. {} of {} streams lacked reported counts and are left out.",
            num(report.all.streams - report.all.with_tokens),
            num(report.all.streams)
        ),
    );
    reasoning_share(&mut out, report);
    section(
        &mut out,
        "Reasoning against answer tokens per stream",
        "Per model: median reasoning tokens (purple) and answer tokens (green) per stream, \
         with a tick at the 90th percentile (reported counts only).",
    );
    tokens(&mut out, report);
    section(
        &mut out,
        "Outcomes",
        "Each stream counts once, under the first of: filtered, error, cut in reasoning, tool \
         calls, complete, cut elsewhere (see the end of the page).",
    );
    outcomes(&mut out, report);
    section(
        &mut out,
        "Content-filter events by category and severity",
        &format!(
            "{} events, {} of which filtered content.",
            num(report.filters.events),
            num(report.filters.filtered)
        ),
    );
    filters(&mut out, report);
    section(
        &mut out,
        "Slowest streams",
        &format!(
            "The {SLOWEST} longest streams by total duration, and where to find them \
             (`thinktee split FILE` numbers streams and choices the same way)."
        ),
    );
    slowest(&mut out, &report.slowest);
    out.push_str("<footer>");
    out.push_str(&esc(super::OUTCOMES_HELP));
    out.push_str("</footer>\n</body></html>\n");
    out
}

// === cards ===

fn cards(out: &mut String, report: &Report, summary: &Summary) {
    let all = &report.all;
    let class = |c: Class| all.classes[c as usize];
    let share = |n: u64| percent(n, all.streams);
    let models = match report.other {
        Some(_) => format!("the first {MAX_MODELS} charted apart, the rest as one row"),
        None => String::new(),
    };
    let rows: [(&str, &str, u64, String); 12] = [
        ("streams", "streams", all.streams, format!("{} choices", num(summary.choices))),
        ("models", "models", report.models.len() as u64, models),
        (
            "reasoning",
            "choices with reasoning",
            summary.with_reasoning,
            percent(summary.with_reasoning, summary.choices),
        ),
        ("complete", "complete", class(Class::Complete), share(class(Class::Complete))),
        (
            "cut-in-reasoning",
            "cut in reasoning",
            class(Class::CutInReasoning),
            share(class(Class::CutInReasoning)),
        ),
        ("tool-calls", "tool calls", class(Class::ToolCalls), share(class(Class::ToolCalls))),
        ("filtered", "filtered", class(Class::Filtered), share(class(Class::Filtered))),
        ("errors", "errors", class(Class::Error), share(class(Class::Error))),
        (
            "cut-elsewhere",
            "cut elsewhere",
            class(Class::CutElsewhere),
            share(class(Class::CutElsewhere)),
        ),
        (
            "tokens",
            "with reported tokens",
            all.with_tokens,
            format!("{} without", num(all.streams - all.with_tokens)),
        ),
        ("timed", "with timings", all.ttft.count(), "from transcripts".into()),
        (
            "filter-events",
            "content-filter events",
            report.filters.events,
            format!("{} filtered", num(report.filters.filtered)),
        ),
    ];
    out.push_str("<section id=\"cards\" class=\"cards\">\n");
    for (id, name, value, sub) in rows {
        let _ = writeln!(
            out,
            "<div class=\"card\" id=\"card-{id}\" data-value=\"{value}\"><div class=\"v\">{}</div>\
             <div class=\"k\">{name}</div><div class=\"s\">{}</div></div>",
            num(value),
            esc(&sub)
        );
    }
    out.push_str("</section>\n");
}

fn section(out: &mut String, title: &str, note: &str) {
    let _ = writeln!(out, "<h2>{}</h2><p class=\"note\">{}</p>", esc(title), esc(note));
}

// === charts ===

/// An SVG chart being drawn: `rows` rows below a legend, an axis at the bottom.
struct Svg<'a> {
    out: &'a mut String,
    rows: usize,
}

impl<'a> Svg<'a> {
    fn open(out: &'a mut String, id: &str, rows: usize, title: &str) -> Svg<'a> {
        let height = TOP + rows.max(1) as f64 * ROW + AXIS_H;
        let _ = write!(
            out,
            "<figure id=\"{id}\"><svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" \
             width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\">\
             <title>{}</title>",
            esc(title)
        );
        Svg { out, rows }
    }

    /// The centre line of row `i`.
    fn y(i: usize) -> f64 {
        TOP + i as f64 * ROW + ROW / 2.0
    }

    /// A chart with nothing to draw says why.
    fn empty(out: &mut String, id: &str, title: &str, why: &str) {
        let mut svg = Svg::open(out, id, 1, title);
        svg.text(X0, Svg::y(0) + 4.0, "muted", why);
        svg.close();
    }

    fn legend(&mut self, items: &[(&str, String)]) {
        let mut x = X0;
        for (colour, name) in items {
            let _ = write!(
                self.out,
                "<rect x=\"{x}\" y=\"8\" width=\"12\" height=\"12\" fill=\"{colour}\"/>"
            );
            self.text(x + 16.0, 18.0, "", name);
            x += 28.0 + 7.0 * name.chars().count() as f64;
        }
    }

    /// Row `i`'s name on the left, cut to fit (the whole name in a tooltip).
    fn label(&mut self, i: usize, name: &str) {
        let _ = write!(
            self.out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\"><title>{}</title>{}</text>",
            LABEL_W,
            Svg::y(i) + 4.0,
            esc(name),
            esc(&cut(name, 34))
        );
    }

    /// Row `i`'s annotation on the right.
    fn note(&mut self, i: usize, text: &str) {
        self.text(X1 + 10.0, Svg::y(i) + 4.0, "muted", text);
    }

    fn text(&mut self, x: f64, y: f64, class: &str, text: &str) {
        let class = if class.is_empty() { String::new() } else { format!(" class=\"{class}\"") };
        let _ = write!(self.out, "<text x=\"{x:.1}\" y=\"{y:.1}\"{class}>{}</text>", esc(text));
    }

    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, tip: &str) {
        let _ = write!(
            self.out,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{fill}\">\
             <title>{}</title></rect>",
            w.max(0.0),
            esc(tip)
        );
    }

    fn line(&mut self, (x1, y1): (f64, f64), (x2, y2): (f64, f64), stroke: &str, width: f64) {
        let _ = write!(
            self.out,
            "<line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\" stroke=\"{stroke}\" \
             stroke-width=\"{width}\"/>"
        );
    }

    fn dot(&mut self, x: f64, y: f64, r: f64, fill: &str, tip: &str) {
        let _ = write!(
            self.out,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{r}\" fill=\"{fill}\"><title>{}</title></circle>",
            esc(tip)
        );
    }

    /// The x axis, 0 to `max`, ticks labelled by `fmt`.
    fn axis(&mut self, max: f64, fmt: fn(f64) -> String) {
        let bottom = TOP + self.rows.max(1) as f64 * ROW;
        self.line((X0, bottom), (X1, bottom), "#8c959f", 1.0);
        let step = max / 5.0;
        for k in 0..=5 {
            let v = step * k as f64;
            let x = scale(v, max);
            self.line((x, TOP), (x, bottom), "#eaeef2", 1.0);
            let _ = write!(
                self.out,
                "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"muted\">{}</text>",
                bottom + 16.0,
                esc(&fmt(v))
            );
        }
    }

    fn close(self) {
        self.out.push_str("</svg></figure>\n");
    }
}

/// Where `v` goes on an axis from 0 to `max`.
fn scale(v: f64, max: f64) -> f64 {
    if max <= 0.0 { X0 } else { X0 + (v.clamp(0.0, max) / max) * (X1 - X0) }
}

/// The smallest 1, 2 or 5 times a power of ten, times 5, at or above `v`:
/// an axis with five round ticks.
fn nice_max(v: f64) -> f64 {
    if v.is_nan() || v <= 0.0 {
        return 1.0;
    }
    let step = v / 5.0;
    let power = 10f64.powf(step.log10().floor());
    let nice = [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * power).find(|s| *s >= step);
    nice.unwrap_or(10.0 * power) * 5.0
}

/// [`nice_max`] for counts: at least 5, so the five ticks are whole numbers.
fn count_max(max: u64) -> f64 {
    nice_max(max.max(5) as f64)
}

fn thinking_tax(out: &mut String, report: &Report) {
    let id = CHARTS[0];
    let title = "Time to first token against time to first answer, per model";
    let rows: Vec<_> = report
        .rows()
        .filter_map(|(name, m)| {
            let [f50, f90] = m.ttft.quantiles([0.5, 0.9]);
            let [a50, a90] = m.first_answer.quantiles([0.5, 0.9]);
            let [t50] = m.tax.quantiles([0.5]);
            Some((name, (f50?, f90?), (a50, a90), t50, m.ttft.count()))
        })
        .collect();
    if rows.is_empty() {
        return Svg::empty(out, id, title, &no_timings(report));
    }
    let max = rows
        .iter()
        .map(|(_, (_, f90), (_, a90), ..)| f90.max(a90.unwrap_or(0.0)))
        .fold(0.0, f64::max);
    let max = nice_max(max);
    let mut svg = Svg::open(out, id, rows.len(), title);
    svg.legend(&[(C_FIRST, "first token".into()), (C_ANSWER, "first answer".into())]);
    for (i, (name, (f50, f90), (a50, a90), t50, n)) in rows.into_iter().enumerate() {
        svg.label(i, name);
        let y = Svg::y(i);
        for (first, answer, dy, r, w) in [(f90, a90, 6.0, 3.0, 1.5), (f50, a50, -3.0, 5.0, 4.0)] {
            let y = y + dy;
            if let Some(answer) = answer {
                svg.line((scale(first, max), y), (scale(answer, max), y), "#afb8c1", w);
                svg.dot(
                    scale(answer, max),
                    y,
                    r,
                    C_ANSWER,
                    &format!("first answer {}", ms(answer)),
                );
            }
            svg.dot(scale(first, max), y, r, C_FIRST, &format!("first token {}", ms(first)));
        }
        let tax = t50.map_or_else(|| "no answer".into(), |t| format!("tax p50 {}", ms(t)));
        svg.note(i, &format!("{tax} · n={}", num(n)));
    }
    svg.axis(max, ms);
    svg.close();
}

fn thinking(out: &mut String, report: &Report) {
    let id = CHARTS[1];
    let title = "Thinking duration per model";
    let rows: Vec<_> = report
        .rows()
        .filter(|(_, m)| m.thinking.count() > 0)
        .map(|(name, m)| {
            (name, m.thinking.quantiles([0.1, 0.25, 0.5, 0.75, 0.9, 0.99]), &m.thinking)
        })
        .collect();
    if rows.is_empty() {
        let why = match report.all.ttft.count() {
            0 => no_timings(report),
            _ => "No thinking: none of the streams with timings had reasoning.".into(),
        };
        return Svg::empty(out, id, title, &why);
    }
    let max = nice_max(rows.iter().filter_map(|(_, q, _)| q[5]).fold(0.0, f64::max));
    let mut svg = Svg::open(out, id, rows.len(), title);
    svg.legend(&[(C_REASONING, "thinking, p10 · p25 · p50 · p75 · p90 · p99".into())]);
    for (i, (name, q, d)) in rows.into_iter().enumerate() {
        let [Some(p10), Some(p25), Some(p50), Some(p75), Some(p90), Some(p99)] = q else {
            continue;
        };
        svg.label(i, name);
        let y = Svg::y(i);
        let x = |v| scale(v, max);
        svg.line((x(p10), y), (x(p90), y), C_REASONING, 1.5);
        svg.line((x(p10), y - 5.0), (x(p10), y + 5.0), C_REASONING, 1.5);
        svg.line((x(p90), y - 5.0), (x(p90), y + 5.0), C_REASONING, 1.5);
        let tip = format!("p25 {} · p50 {} · p75 {}", ms(p25), ms(p50), ms(p75));
        svg.rect(x(p25), y - 8.0, x(p75) - x(p25), 16.0, "#d8b9ff", &tip);
        svg.line((x(p50), y - 8.0), (x(p50), y + 8.0), C_REASONING, 2.5);
        svg.dot(x(p99), y, 3.0, C_REASONING, &format!("p99 {}", ms(p99)));
        svg.note(i, &format!("p50 {} · p99 {} · n={}", ms(p50), ms(p99), num(d.count())));
    }
    svg.axis(max, ms);
    svg.close();
}

fn no_timings(report: &Report) -> String {
    format!(
        "No timings: none of the {} streams came from a transcript with arrival times.",
        num(report.all.streams)
    )
}

fn no_tokens(report: &Report) -> String {
    format!("No reported token counts in any of the {} streams.", num(report.all.streams))
}

fn reasoning_share(out: &mut String, report: &Report) {
    let id = CHARTS[2];
    let title = "Reasoning share of output tokens per model";
    let rows: Vec<_> = report.rows().filter(|(_, m)| m.with_tokens > 0).collect();
    if rows.is_empty() {
        return Svg::empty(out, id, title, &no_tokens(report));
    }
    let mut svg = Svg::open(out, id, rows.len(), title);
    svg.legend(&[(C_REASONING, "reasoning tokens".into()), (C_TEXT, "answer tokens".into())]);
    for (i, (name, m)) in rows.into_iter().enumerate() {
        svg.label(i, name);
        let y = Svg::y(i) - 9.0;
        let total = m.reasoning_tokens.saturating_add(m.answer_tokens);
        let share = if total > 0 { m.reasoning_tokens as f64 / total as f64 } else { 0.0 };
        let split = X0 + share * (X1 - X0);
        if total > 0 {
            let r = format!("{} reasoning tokens", num(m.reasoning_tokens));
            svg.rect(X0, y, split - X0, 18.0, C_REASONING, &r);
            let a = format!("{} answer tokens", num(m.answer_tokens));
            svg.rect(split, y, X1 - split, 18.0, C_TEXT, &a);
        } else {
            svg.rect(X0, y, X1 - X0, 18.0, "#eaeef2", "no output tokens");
        }
        svg.note(
            i,
            &format!(
                "{} · {}/{} streams",
                percent(m.reasoning_tokens, total),
                num(m.with_tokens),
                num(m.streams)
            ),
        );
    }
    svg.axis(1.0, |v| format!("{:.0} %", v * 100.0));
    svg.close();
}

fn tokens(out: &mut String, report: &Report) {
    let id = CHARTS[3];
    let title = "Reasoning and answer tokens per stream, per model";
    let rows: Vec<_> = report
        .rows()
        .filter(|(_, m)| m.with_tokens > 0)
        .map(|(name, m)| {
            let r = m.reasoning_per_stream.quantiles([0.5, 0.9]).map(Option::unwrap_or_default);
            let a = m.answer_per_stream.quantiles([0.5, 0.9]).map(Option::unwrap_or_default);
            (name, r, a)
        })
        .collect();
    if rows.is_empty() {
        return Svg::empty(out, id, title, &no_tokens(report));
    }
    let max = rows.iter().map(|(_, r, a)| r[1].max(a[1])).max().unwrap_or(0);
    let max = count_max(max);
    let mut svg = Svg::open(out, id, rows.len(), title);
    svg.legend(&[(C_REASONING, "reasoning p50".into()), (C_TEXT, "answer p50".into())]);
    for (i, (name, r, a)) in rows.into_iter().enumerate() {
        svg.label(i, name);
        let y = Svg::y(i);
        for (q, colour, top, what) in
            [(r, C_REASONING, y - 10.0, "reasoning"), (a, C_TEXT, y, "answer")]
        {
            let tip = format!("{what} tokens: p50 {} · p90 {}", num(q[0]), num(q[1]));
            svg.rect(X0, top, scale(q[0] as f64, max) - X0, 9.0, colour, &tip);
            let x90 = scale(q[1] as f64, max);
            svg.line((x90, top), (x90, top + 9.0), colour, 2.0);
        }
        svg.note(i, &format!("p50 {} / {}", num(r[0]), num(a[0])));
    }
    svg.axis(max, |v| num(v.round() as u64));
    svg.close();
}

fn outcomes(out: &mut String, report: &Report) {
    let id = CHARTS[4];
    let title = "Outcomes per model";
    if report.all.streams == 0 {
        return Svg::empty(out, id, title, "No streams.");
    }
    let rows: Vec<(&str, &ModelStats)> =
        std::iter::once(("all streams", &report.all)).chain(report.rows()).collect();
    let mut svg = Svg::open(out, id, rows.len(), title);
    let legend: Vec<_> = Class::ALL
        .iter()
        .map(|c| {
            (
                C_CLASSES[*c as usize],
                format!("{} {}", c.label(), num(report.all.classes[*c as usize])),
            )
        })
        .collect();
    svg.legend(&legend);
    for (i, (name, m)) in rows.into_iter().enumerate() {
        svg.label(i, name);
        let y = Svg::y(i) - 9.0;
        let mut x = X0;
        for c in Class::ALL {
            let n = m.classes[c as usize];
            let w = n as f64 / m.streams.max(1) as f64 * (X1 - X0);
            let tip = format!("{}: {} ({})", c.label(), num(n), percent(n, m.streams));
            svg.rect(x, y, w, 18.0, C_CLASSES[c as usize], &tip);
            x += w;
        }
        let complete = m.classes[Class::Complete as usize];
        let share = percent(complete, m.streams);
        svg.note(i, &format!("{} · {share} complete", plural(m.streams, "stream")));
    }
    svg.axis(1.0, |v| format!("{:.0} %", v * 100.0));
    svg.close();
}

/// Severities in their order of gravity, then the rest by name.
fn severity_rank(severity: &str) -> (usize, &str) {
    let known = ["safe", "low", "medium", "high", "none"];
    (known.iter().position(|k| *k == severity).unwrap_or(known.len()), severity)
}

fn severity_colour(severity: &str) -> &'static str {
    match severity {
        "safe" => "#1a7f37",
        "low" => "#d4a72c",
        "medium" => "#e16f24",
        "high" => "#cf222e",
        "none" => "#8c959f",
        _ => "#8250df",
    }
}

/// Events per severity (by [`severity_rank`]) of one category.
type Severities<'a> = BTreeMap<(usize, &'a str), u64>;

fn filters(out: &mut String, report: &Report) {
    let id = CHARTS[5];
    let title = "Content-filter events by category and severity";
    let pairs = &report.filters.by_category_severity.0;
    if pairs.is_empty() {
        return Svg::empty(out, id, title, "No content-filter events.");
    }
    // Per category: its severities and their counts; most events first.
    let mut categories: BTreeMap<&str, Severities<'_>> = BTreeMap::new();
    for ((category, severity), n) in pairs {
        *categories.entry(category).or_default().entry(severity_rank(severity)).or_default() += n;
    }
    let mut rows: Vec<(String, Severities<'_>)> =
        categories.into_iter().map(|(c, s)| (c.to_owned(), s)).collect();
    rows.sort_by_key(|(_, s)| std::cmp::Reverse(s.values().sum::<u64>()));
    if rows.len() > MAX_CATEGORIES {
        let mut rest = BTreeMap::new();
        for (_, s) in rows.drain(MAX_CATEGORIES - 1..) {
            for (k, n) in s {
                *rest.entry(k).or_default() += n;
            }
        }
        rows.push(("(other categories)".into(), rest));
    }
    let mut severities: Vec<(usize, &str)> =
        rows.iter().flat_map(|(_, s)| s.keys().copied()).collect();
    severities.sort();
    severities.dedup();
    let max = count_max(rows.iter().map(|(_, s)| s.values().sum::<u64>()).max().unwrap_or(0));
    let mut svg = Svg::open(out, id, rows.len(), title);
    let legend: Vec<_> =
        severities.iter().take(8).map(|(_, s)| (severity_colour(s), cut(s, 16))).collect();
    svg.legend(&legend);
    for (i, (category, counts)) in rows.iter().enumerate() {
        svg.label(i, category);
        let y = Svg::y(i) - 9.0;
        let mut x = X0;
        for ((_, severity), n) in counts {
            let w = scale(*n as f64, max) - X0;
            svg.rect(x, y, w, 18.0, severity_colour(severity), &format!("{severity}: {}", num(*n)));
            x += w;
        }
        svg.note(i, &plural(counts.values().sum(), "event"));
    }
    svg.axis(max, |v| num(v.round() as u64));
    svg.close();
}

// === the table ===

fn slowest(out: &mut String, slowest: &[Slow]) {
    out.push_str(
        "<table id=\"table-slowest\"><thead><tr><th>#</th><th>total</th>\
        <th>first token</th><th>first answer</th><th>thinking</th><th>model</th>\
        <th>outcome</th><th>source</th><th>stream</th><th>choice</th><th>request id</th>\
        </tr></thead><tbody>\n",
    );
    if slowest.is_empty() {
        out.push_str("<tr><td colspan=\"11\">No stream with a total duration (they come from transcripts).</td></tr>\n");
    }
    let opt = |v: Option<f64>| v.map_or_else(|| "-".into(), ms);
    for (i, s) in slowest.iter().enumerate() {
        let choice = match (s.choice, s.choices) {
            (None, _) => "-".to_owned(),
            (Some(c), 1) => c.to_string(),
            (Some(c), n) => format!("{c} (+{})", n - 1),
        };
        let _ = writeln!(
            out,
            "<tr><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td>\
             <td class=\"src\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            i + 1,
            ms(s.total_ms),
            opt(s.ttft_ms),
            opt(s.first_answer_ms),
            opt(s.thinking_ms),
            esc(&cut(&s.model, 60)),
            s.class.label(),
            esc(&cut(&s.source, 200)),
            s.stream,
            choice,
            esc(&cut(s.request_id.as_deref().unwrap_or("-"), 60)),
        );
    }
    out.push_str("</tbody></table>\n");
}

// === text ===

/// `s` safe as HTML text and as an attribute value.
pub(crate) fn esc(s: &str) -> Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `s` cut to `max` characters, an ellipsis saying so.
fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_owned(),
    }
}

/// `1234567` as `1,234,567`.
fn num(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// `1 event`, `2 events`.
fn plural(n: u64, what: &str) -> String {
    format!("{} {what}{}", num(n), if n == 1 { "" } else { "s" })
}

fn percent(n: u64, of: u64) -> String {
    if of == 0 { "-".into() } else { format!("{:.1} %", n as f64 * 100.0 / of as f64) }
}

/// Milliseconds as ms, s or min.
fn ms(v: f64) -> String {
    if v < 1_000.0 {
        format!("{v:.0} ms")
    } else if v < 60_000.0 {
        format!("{:.1} s", v / 1_000.0)
    } else {
        format!("{:.1} min", v / 60_000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_the_input_is_escaped() {
        assert_eq!(esc("<script>alert(1)</script>"), "&lt;script&gt;alert(1)&lt;/script&gt;");
        assert_eq!(esc("a\"b'c&d"), "a&quot;b&#39;c&amp;d");
        assert!(matches!(esc("gpt-5"), Cow::Borrowed(_)));
    }

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(
            [num(0), num(999), num(1_000), num(1_234_567)],
            ["0", "999", "1,000", "1,234,567"]
        );
        assert_eq!([ms(850.4), ms(1_260.0), ms(90_000.0)], ["850 ms", "1.3 s", "1.5 min"]);
        assert_eq!(cut("abcdef", 3), "abc…");
        assert_eq!(cut("ab", 3), "ab");
        assert_eq!([nice_max(0.0), nice_max(7.0), nice_max(1_234.0)], [1.0, 10.0, 2_500.0]);
        // Counts tick at whole numbers.
        assert_eq!([count_max(0), count_max(2), count_max(12)], [5.0, 5.0, 25.0]);
    }
}
