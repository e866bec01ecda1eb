//! The CPU budget: what a response may cost, and what the pipeline gives up so that no page is
//! cut off by Fastly's CPU limit.
//!
//! Fastly ends a request's instance once it has used its CPU allowance (50 ms by default),
//! wherever it is: a page still streaming is cut off for the reader. So the pipeline reads the
//! request's vCPU time as it goes ([`Meter`]), projects what the whole page will cost at the
//! rate it is going, and when the projection would pass the budget it steps down, in this fixed
//! order, to the first step that fits (or the last there is):
//!
//! | step | what it saves | what it gives up |
//! |---|---|---|
//! | [`Step::Level`] (gzip, deflate: level 1) | most of the encoder's time | output size (about 10-30% larger than level 5) |
//! | [`Step::Stored`] (stored deflate blocks; uncompressed brotli meta-blocks) | the encoder's time | compression: the rest of the page goes out at its decoded size |
//! | [`Step::TextRewrite`] (HTML only) | lol_html's parsing and the attribute work | the rest of the document is rewritten as text: absolute and protocol-relative URLs in every form wherever they stand, but not a bare host in a URL attribute (a Next.js page's data keeps its bare hosts rewritten), URLs written with character references or with backslashes, nor the `<script>` tag if it is not in yet; no integrity marks, and inline content a policy pins is no longer left alone |
//!
//! The logic here is pure: it is handed readings of the clock and decides; the Compute glue
//! only reads the clock and logs what was decided. A page whose projection never passes the
//! budget is not touched: its bytes are those of an unlimited budget.

use super::{ContentKind, Encoding};

/// How many decoded bytes pass between two readings of the clock: a reading is a host call, and
/// a few hundred per page cost nothing measurable.
pub const READING_EVERY: u64 = 128 * 1024;

/// The share of the budget a projection may reach before the pipeline steps down: the clock
/// counts whole milliseconds, and the rate is measured over a few of them.
const MARGIN: f64 = 0.85;

/// What finishing a response costs after the last reading (the codecs' ends, the last flush).
const FINISHING_MS: f64 = 1.0;

/// The least a step is measured over before its own rate is trusted; until then the rate of
/// the whole response so far, scaled by the cost model, stands in.
const MIN_PHASE_BYTES: u64 = 256 * 1024;

/// Something that can give up work for CPU time: what the pipeline can do, step by step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// gzip or deflate at this level from here on (a flush point).
    Level(u32),
    /// No more compression: stored deflate blocks, or uncompressed brotli meta-blocks.
    Stored,
    /// The rest of an HTML document rewritten as text, without the HTML parser.
    TextRewrite,
}

/// Reads the request's CPU time: `elapsed_vcpu_ms()` on Fastly, a scripted clock in tests. It
/// is told each step taken, so the glue can log it.
pub trait Meter {
    /// The vCPU milliseconds the request has used so far, if the host says.
    fn elapsed_ms(&mut self) -> Option<u64>;

    /// A step was taken.
    fn stepped(&mut self, step: &Stepped);

    /// Every step is taken and the projection still passes the budget: the instance will be
    /// ended before the page is through. Told once per response.
    fn overrun(&mut self, _overrun: &Overrun) {}
}

/// Nothing left to give up and the projection past the budget: what the warning says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overrun {
    /// Decoded bytes when it was seen.
    pub at_decoded: u64,
    /// The projection, in ms.
    pub projected_ms: u64,
    /// The budget, in ms.
    pub budget_ms: u64,
}

impl std::fmt::Display for Overrun {
    /// `budget: nothing left to give up at 14.2 MB decoded, projected 61 ms of 50`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "budget: nothing left to give up at {:.1} MB decoded, projected {} ms of {}",
            self.at_decoded as f64 / 1e6,
            self.projected_ms,
            self.budget_ms
        )
    }
}

/// A step taken, with where and why: what the log line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stepped {
    /// What was given up.
    pub step: Step,
    /// What the configuration was before, as the log line names it (`deflate level 5`).
    pub from: String,
    /// What it is now (`level 1`).
    pub to: String,
    /// Decoded bytes when it was taken.
    pub at_decoded: u64,
    /// The projection that called for it, in ms.
    pub projected_ms: u64,
    /// The budget, in ms.
    pub budget_ms: u64,
}

impl std::fmt::Display for Stepped {
    /// `budget: deflate level 5 -> 1 at 1.2 MB decoded, projected 74 ms of 50`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "budget: {} -> {} at {:.1} MB decoded, projected {} ms of {}",
            self.from,
            self.to,
            self.at_decoded as f64 / 1e6,
            self.projected_ms,
            self.budget_ms
        )
    }
}

/// One reading of the clock, with how far the response has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reading {
    /// vCPU ms used so far.
    pub elapsed_ms: u64,
    /// Bytes decoded so far.
    pub decoded: u64,
    /// Origin bytes read so far.
    pub read: u64,
}

/// What a response costs per MB of decoded body, in vCPU ms, part by part: the model that says
/// how much a step saves before the step's own rate is known, and which output coding fits
/// before anything is known. Measured under Viceroy on a 2-core machine (BENCHMARKS.md, "The CPU
/// budget"); only the ratios between parts matter once the response's own rate is measured.
#[derive(Debug, Clone, Copy)]
pub struct CostModel {
    /// Decoding gzip or deflate.
    pub inflate: f64,
    /// Decoding brotli.
    pub brotli_decode: f64,
    /// The HTML stage (lol_html, the attribute work, inline text).
    pub html: f64,
    /// The text replacer (JavaScript, CSS, JSON; HTML after [`Step::TextRewrite`]).
    pub text: f64,
    /// gzip or deflate at the configured level (5 by default).
    pub deflate: f64,
    /// gzip or deflate at level 1.
    pub deflate_fast: f64,
    /// Stored blocks (the checksum and a copy).
    pub stored: f64,
    /// brotli at the configured quality (4 by default).
    pub brotli: f64,
}

impl CostModel {
    /// The figures of BENCHMARKS.md ("The CPU budget").
    pub const MEASURED: CostModel = CostModel {
        inflate: 2.0,
        brotli_decode: 2.6,
        html: 11.5,
        text: 1.2,
        deflate: 10.8,
        deflate_fast: 4.0,
        stored: 0.6,
        brotli: 13.8,
    };

    /// ms per MB for a configuration.
    fn per_mb(&self, config: &Config) -> f64 {
        let decode = match config.input {
            Encoding::Identity => 0.0,
            Encoding::Gzip | Encoding::Deflate => self.inflate,
            Encoding::Brotli => self.brotli_decode,
        };
        let rewrite = match (config.kind, config.text_rewrite) {
            (ContentKind::Html, false) => self.html,
            _ => self.text,
        };
        let encode = match (config.output, config.encoder) {
            (Encoding::Identity, _) => 0.0,
            (_, Encoder::Stored) => self.stored,
            (Encoding::Brotli, _) => self.brotli,
            (_, Encoder::Level(level)) if level <= 1 => self.deflate_fast,
            (_, Encoder::Level(_)) => self.deflate,
        };
        decode + rewrite + encode
    }
}

/// What the encoder is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoder {
    /// Compressing at a level (for brotli, at its configured quality).
    Level(u32),
    Stored,
}

/// A pipeline configuration: what a response costs depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Config {
    kind: ContentKind,
    input: Encoding,
    output: Encoding,
    encoder: Encoder,
    text_rewrite: bool,
}

impl Config {
    /// The configuration after `step`.
    fn after(self, step: Step) -> Config {
        match step {
            Step::Level(level) => Config {
                encoder: Encoder::Level(level),
                ..self
            },
            Step::Stored => Config {
                encoder: Encoder::Stored,
                ..self
            },
            Step::TextRewrite => Config {
                text_rewrite: true,
                ..self
            },
        }
    }

    /// The steps left to take, in order.
    fn steps(self, level: u32) -> Vec<Step> {
        let mut steps = Vec::new();
        let compressing = self.output != Encoding::Identity && self.encoder != Encoder::Stored;
        let deflate = matches!(self.output, Encoding::Gzip | Encoding::Deflate);
        if compressing && deflate && matches!(self.encoder, Encoder::Level(l) if l > 1) {
            steps.push(Step::Level(1));
        }
        if compressing && !(deflate && level == 0) {
            steps.push(Step::Stored);
        }
        if self.kind == ContentKind::Html && !self.text_rewrite {
            steps.push(Step::TextRewrite);
        }
        steps
    }

    /// How the log line names the encoder (`gzip level 5`, `brotli stored`).
    fn encoder_name(self, encoder: Encoder) -> String {
        let coding = match self.output {
            Encoding::Gzip => "gzip",
            Encoding::Deflate => "deflate",
            Encoding::Brotli => "brotli",
            Encoding::Identity => "identity",
        };
        match (encoder, self.output) {
            (Encoder::Stored, _) => format!("{coding} stored"),
            (Encoder::Level(_), Encoding::Brotli) => format!("{coding} compressed"),
            (Encoder::Level(level), _) => format!("{coding} level {level}"),
        }
    }
}

/// A response's budget: its limit, what it knows of the body's size, and the steps it took.
///
/// ```
/// use sluice_edge::pipeline::budget::{Budget, Reading, Step};
/// use sluice_edge::pipeline::{ContentKind, Encoding};
/// // An 8 MB page (1.6 MB of gzip) at 24 ms per MB has no chance at level 5 in 50 ms.
/// let mut budget = Budget::new(50, ContentKind::Html, Encoding::Gzip, Encoding::Gzip, 5)
///     .with_length(Some(1_600_000));
/// let at = Reading { elapsed_ms: 7, decoded: 256 * 1024, read: 52_000 };
/// let steps: Vec<Step> = budget.observe(at).iter().map(|s| s.step).collect();
/// assert_eq!(steps, [Step::Stored, Step::TextRewrite]);
/// ```
#[derive(Debug, Clone)]
pub struct Budget {
    limit_ms: u64,
    level: u32,
    model: CostModel,
    config: Config,
    /// The origin body's length (Content-Length), when known.
    length: Option<u64>,
    /// Before the first byte ([`Budget::start`]).
    start: Reading,
    /// Where the current configuration began.
    phase: Reading,
    /// The last reading.
    last: Reading,
    /// Whether an [`Overrun`] was reported.
    overrun_told: bool,
}

impl Budget {
    /// The budget of a response of `kind`, decoded from `input` and written in `output` at gzip
    /// `level`, that may use `limit_ms` of vCPU in all.
    pub fn new(
        limit_ms: u64,
        kind: ContentKind,
        input: Encoding,
        output: Encoding,
        level: u32,
    ) -> Budget {
        Budget {
            limit_ms,
            level,
            model: CostModel::MEASURED,
            config: Config {
                kind,
                input,
                output,
                encoder: Encoder::Level(level),
                text_rewrite: false,
            },
            length: None,
            start: Reading::default(),
            phase: Reading::default(),
            last: Reading::default(),
            overrun_told: false,
        }
    }

    /// The origin body's length in bytes as it arrives (Content-Length), when known: the
    /// projection then knows what is left. Without it, the page is assumed to be as long again as
    /// what has been read, and past half the budget the last step is taken.
    pub fn with_length(mut self, length: Option<u64>) -> Budget {
        self.length = length;
        self
    }

    /// Another cost model (tests).
    pub fn with_model(mut self, model: CostModel) -> Budget {
        self.model = model;
        self
    }

    /// The budget in ms.
    pub fn limit_ms(&self) -> u64 {
        self.limit_ms
    }

    /// The clock before the first byte: what the request used before its body (the instance's
    /// start, the settings, the origin's answer) is not the body's rate.
    pub fn start(&mut self, elapsed_ms: u64) {
        let start = Reading {
            elapsed_ms,
            ..Reading::default()
        };
        self.phase = start;
        self.last = start;
        self.start = start;
    }

    /// Whether `decoded` bytes are far enough past the last reading for another.
    pub fn wants_reading(&self, decoded: u64) -> bool {
        decoded >= self.last.decoded + READING_EVERY
    }

    /// After the last step: whether the projection passes the budget itself, once a phase's
    /// worth of the last configuration has been measured. Reported once.
    pub fn overrun(&mut self, reading: Reading) -> Option<Overrun> {
        let measured = reading.decoded - self.phase.decoded >= MIN_PHASE_BYTES;
        if self.overrun_told || !self.config.steps(self.level).is_empty() || !measured {
            return None;
        }
        let projected = self.projected(reading, self.config);
        if projected <= self.limit_ms as f64 {
            return None;
        }
        self.overrun_told = true;
        Some(Overrun {
            at_decoded: reading.decoded,
            projected_ms: projected.round() as u64,
            budget_ms: self.limit_ms,
        })
    }

    /// Takes a reading; returns the steps to take now, if the projection passes the budget:
    /// the configuration of the first step in the order that fits (or of the last there is),
    /// as one change of the encoder and, for HTML, the switch to the text rewrite.
    pub fn observe(&mut self, reading: Reading) -> Vec<Stepped> {
        self.last = reading;
        let steps = self.config.steps(self.level);
        let Some(&last_step) = steps.last() else {
            return Vec::new();
        };
        let projected = self.projected(reading, self.config);
        let allowed = self.limit_ms as f64 * MARGIN;
        // A rate read over a few whole milliseconds is rough, and a step cannot be taken back:
        // the first is judged after a phase's worth of body, unless half the budget is gone.
        let early = reading.decoded - self.start.decoded < MIN_PHASE_BYTES
            && reading.elapsed_ms * 2 < self.limit_ms;
        if projected <= allowed || early {
            return Vec::new();
        }
        let unknown_past_half = self.length.is_none() && reading.elapsed_ms * 2 >= self.limit_ms;
        let through = |step: Step| {
            steps
                .iter()
                .take_while(|s| **s != step)
                .chain([&step])
                .fold(self.config, |config, s| config.after(*s))
        };
        let target = match unknown_past_half {
            true => through(last_step),
            false => steps
                .iter()
                .map(|s| through(*s))
                .find(|config| self.projected(reading, *config) <= allowed)
                .unwrap_or_else(|| through(last_step)),
        };
        let stepped = |step: Step, from: String, to: String| Stepped {
            step,
            from,
            to,
            at_decoded: reading.decoded,
            projected_ms: projected.round() as u64,
            budget_ms: self.limit_ms,
        };
        let mut taken = Vec::new();
        if target.encoder != self.config.encoder {
            let step = match target.encoder {
                Encoder::Level(level) => Step::Level(level),
                Encoder::Stored => Step::Stored,
            };
            let to = match target.encoder {
                Encoder::Level(level) => level.to_string(),
                Encoder::Stored => "stored".to_owned(),
            };
            taken.push(stepped(
                step,
                self.config.encoder_name(self.config.encoder),
                to,
            ));
        }
        if target.text_rewrite && !self.config.text_rewrite {
            taken.push(stepped(
                Step::TextRewrite,
                "HTML rewrite".to_owned(),
                "text rewrite".to_owned(),
            ));
        }
        self.config = target;
        self.phase = reading;
        taken
    }

    /// What the whole response will cost in `config`, projected from `reading`.
    fn projected(&self, reading: Reading, config: Config) -> f64 {
        let elapsed = reading.elapsed_ms as f64;
        let left = self.bytes_left(reading) as f64 / 1e6;
        // The rate: this phase's own once it has run long enough, else the whole response's so
        // far; scaled by the model from the configuration measured to `config`.
        let (since, measured) = match reading.decoded - self.phase.decoded >= MIN_PHASE_BYTES {
            true => (self.phase, self.config),
            false => (self.start, self.first_config()),
        };
        let decoded = (reading.decoded - since.decoded) as f64 / 1e6;
        let spent = reading.elapsed_ms.saturating_sub(since.elapsed_ms) as f64;
        let rate = match decoded > 0.0 && spent > 0.0 {
            true => spent / decoded,
            false => self.model.per_mb(&measured),
        };
        let scale = self.model.per_mb(&config) / self.model.per_mb(&measured);
        elapsed + rate * scale * left + FINISHING_MS
    }

    /// The configuration the response started in.
    fn first_config(&self) -> Config {
        Config {
            encoder: Encoder::Level(self.level),
            text_rewrite: false,
            ..self.config
        }
    }

    /// Decoded bytes still to come: from the origin's length and the ratio so far, or, without
    /// a length, as many again as so far.
    fn bytes_left(&self, reading: Reading) -> u64 {
        match self.length {
            Some(length) if reading.read > 0 => {
                let ratio = reading.decoded as f64 / reading.read as f64;
                (length.saturating_sub(reading.read) as f64 * ratio) as u64
            }
            Some(length) => length,
            None => reading.decoded,
        }
    }
}

/// The output coding the budget allows, chosen before anything streams from what is known: the
/// body's decoded size, estimated from its length (Content-Length) and how far its first chunk
/// expands, and the codings the client accepts. `preferred` (the coding negotiation chose) when
/// the whole response is projected to fit; else the first accepted coding that does, in the
/// order gzip, deflate, br (gzip costs the least CPU); else the cheapest compressed coding
/// accepted, when it costs less than `preferred`; and the steps take it from there. Without an
/// estimate it is `preferred`.
///
/// ```
/// use sluice_edge::pipeline::budget::affordable_output;
/// use sluice_edge::pipeline::{ContentKind, Encoding};
/// let accepted = [Encoding::Gzip, Encoding::Brotli, Encoding::Identity];
/// // 7 MB of HTML would not fit 50 ms as brotli; gzip fits no better, but costs less.
/// let big = affordable_output(Encoding::Brotli, &accepted, ContentKind::Html, Encoding::Brotli, Some(7_000_000), 50, 5);
/// assert_eq!(big, Encoding::Gzip);
/// let small = affordable_output(Encoding::Brotli, &accepted, ContentKind::Html, Encoding::Brotli, Some(500_000), 50, 5);
/// assert_eq!(small, Encoding::Brotli);
/// ```
pub fn affordable_output(
    preferred: Encoding,
    accepted: &[Encoding],
    kind: ContentKind,
    input: Encoding,
    decoded_estimate: Option<u64>,
    limit_ms: u64,
    level: u32,
) -> Encoding {
    let Some(decoded) = decoded_estimate else {
        return preferred;
    };
    let cost = |output: Encoding| {
        let config = Budget::new(limit_ms, kind, input, output, level).config;
        CostModel::MEASURED.per_mb(&config) * decoded as f64 / 1e6 + FINISHING_MS
    };
    let allowed = limit_ms as f64 * MARGIN;
    if cost(preferred) <= allowed {
        return preferred;
    }
    let compressed = cheaper_compressed(preferred, accepted, kind, input, level);
    compressed
        .iter()
        .copied()
        .find(|&encoding| cost(encoding) <= allowed)
        .or_else(|| compressed.first().copied())
        .unwrap_or(preferred)
}

/// The compressed codings the client accepts that cost less CPU than `preferred`, cheapest
/// first: whether [`affordable_output`] has any choice to make (and so whether a body's
/// expansion is worth measuring before the head goes out).
///
/// ```
/// use sluice_edge::pipeline::budget::cheaper_compressed;
/// use sluice_edge::pipeline::{ContentKind, Encoding};
/// let both = [Encoding::Gzip, Encoding::Brotli];
/// assert_eq!(cheaper_compressed(Encoding::Brotli, &both, ContentKind::Html, Encoding::Gzip, 5), [Encoding::Gzip]);
/// assert!(cheaper_compressed(Encoding::Gzip, &both, ContentKind::Html, Encoding::Gzip, 5).is_empty());
/// ```
pub fn cheaper_compressed(
    preferred: Encoding,
    accepted: &[Encoding],
    kind: ContentKind,
    input: Encoding,
    level: u32,
) -> Vec<Encoding> {
    let per_mb = |output: Encoding| {
        CostModel::MEASURED.per_mb(&Budget::new(0, kind, input, output, level).config)
    };
    let mut cheaper: Vec<Encoding> = [Encoding::Gzip, Encoding::Deflate, Encoding::Brotli]
        .into_iter()
        .filter(|&e| e != preferred && accepted.contains(&e) && per_mb(e) < per_mb(preferred))
        .collect();
    cheaper.sort_by(|a, b| per_mb(*a).total_cmp(&per_mb(*b)));
    cheaper
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = 1_000_000;

    fn html_gzip(length: Option<u64>) -> Budget {
        Budget::new(50, ContentKind::Html, Encoding::Gzip, Encoding::Gzip, 5).with_length(length)
    }

    fn at(elapsed_ms: u64, decoded: u64) -> Reading {
        // A body that decodes to five times its size.
        Reading {
            elapsed_ms,
            decoded,
            read: decoded / 5,
        }
    }

    fn steps(taken: &[Stepped]) -> Vec<Step> {
        taken.iter().map(|s| s.step).collect()
    }

    #[test]
    fn what_the_request_used_before_the_body_is_not_the_bodys_rate() {
        // 4 ms went before the first byte; the body then runs at 12 ms per MB: 2 MB fit.
        let mut budget = html_gzip(Some(2 * MB / 5));
        budget.start(4);
        assert!(budget.observe(at(4 + 4, 300_000)).is_empty());
        // Counted from zero, the same reading would have called for a step.
        let mut unstarted = html_gzip(Some(2 * MB / 5));
        assert!(!unstarted.observe(at(4 + 4, 300_000)).is_empty());
    }

    #[test]
    fn a_page_that_fits_takes_no_step() {
        // 2 MB at 20 ms per MB: 40 ms in all, under 85% of 50 ms.
        let mut budget = html_gzip(Some(2 * MB / 5));
        for decoded in (1..=8).map(|i| i * MB / 4) {
            assert!(
                budget.observe(at(decoded * 20 / MB, decoded)).is_empty(),
                "{decoded}"
            );
        }
    }

    #[test]
    fn the_projection_takes_the_first_step_that_fits() {
        // 2.2 MB at 24 ms per MB is 54 ms: level 1 (about 0.72 of the cost) fits.
        let mut budget = html_gzip(Some(440_000));
        // Too early to judge: a phase's worth of body first.
        assert!(budget.observe(at(6, MB / 4)).is_empty());
        let taken = budget.observe(at(7, 300_000));
        assert_eq!(steps(&taken), [Step::Level(1)]);
        assert_eq!(
            taken[0].to_string(),
            "budget: gzip level 5 -> 1 at 0.3 MB decoded, projected 52 ms of 50"
        );
        // 4 MB: only stored blocks with the text rewrite fit.
        let mut budget = html_gzip(Some(4 * MB / 5));
        assert_eq!(
            steps(&budget.observe(at(7, 300_000))),
            [Step::Stored, Step::TextRewrite]
        );
        // Nothing left to give up after the last step.
        assert!(budget.observe(at(40, 2 * MB)).is_empty());
    }

    #[test]
    fn a_step_is_judged_again_by_its_own_rate() {
        let mut budget = html_gzip(Some(440_000));
        assert_eq!(steps(&budget.observe(at(7, 300_000))), [Step::Level(1)]);
        // Level 1 turned out no cheaper than level 5 on this page: the next reading, a phase's
        // worth later, goes on.
        let taken = budget.observe(at(19, 800_000));
        assert!(
            !taken.is_empty() && taken[0].step == Step::Stored,
            "{taken:?}"
        );
    }

    #[test]
    fn without_a_length_the_page_is_as_long_again_and_past_half_the_budget_the_last_step() {
        let mut budget = html_gzip(None);
        // 1 MB in 20 ms: as much again would be 41 ms, under the margin.
        assert!(budget.observe(at(20, MB)).is_empty());
        // 1.2 MB in 26 ms: past half the budget, straight to the last step.
        assert_eq!(
            steps(&budget.observe(at(26, 1_200_000))),
            [Step::Stored, Step::TextRewrite]
        );
    }

    #[test]
    fn each_coding_and_kind_has_its_own_steps() {
        let steps = |kind, output, level| {
            Budget::new(50, kind, Encoding::Gzip, output, level)
                .config
                .steps(level)
        };
        assert_eq!(
            steps(ContentKind::Html, Encoding::Deflate, 5),
            [Step::Level(1), Step::Stored, Step::TextRewrite]
        );
        assert_eq!(
            steps(ContentKind::Html, Encoding::Brotli, 5),
            [Step::Stored, Step::TextRewrite]
        );
        assert_eq!(
            steps(ContentKind::Html, Encoding::Identity, 5),
            [Step::TextRewrite]
        );
        assert_eq!(
            steps(ContentKind::JavaScript, Encoding::Gzip, 5),
            [Step::Level(1), Step::Stored]
        );
        assert_eq!(steps(ContentKind::Css, Encoding::Gzip, 1), [Step::Stored]);
        assert!(steps(ContentKind::Css, Encoding::Gzip, 0).is_empty());
        assert!(steps(ContentKind::Json, Encoding::Identity, 5).is_empty());
    }

    #[test]
    fn past_the_last_step_an_overrun_is_told_once() {
        let mut budget = html_gzip(Some(20 * MB / 5));
        assert_eq!(
            steps(&budget.observe(at(7, 300_000))),
            [Step::Stored, Step::TextRewrite]
        );
        // Not yet measured in the last configuration.
        assert_eq!(budget.overrun(at(8, 400_000)), None);
        // 5 ms per MB from here: 20 MB in all is well past 50 ms.
        let overrun = budget.overrun(at(9, 700_000)).expect("an overrun");
        assert_eq!(
            overrun.to_string(),
            "budget: nothing left to give up at 0.7 MB decoded, projected 107 ms of 50"
        );
        assert_eq!(budget.overrun(at(13, 1_700_000)), None);
        // A page the last step brings within the budget has none.
        let mut fits = html_gzip(Some(4 * MB / 5));
        fits.observe(at(7, 300_000));
        assert_eq!(fits.overrun(at(9, 700_000)), None);
        // Nor has a page before its last step.
        assert_eq!(html_gzip(Some(20 * MB / 5)).overrun(at(9, 700_000)), None);
    }

    #[test]
    fn readings_come_every_so_many_decoded_bytes() {
        let mut budget = html_gzip(None);
        assert!(!budget.wants_reading(READING_EVERY - 1));
        assert!(budget.wants_reading(READING_EVERY));
        budget.observe(at(1, READING_EVERY));
        assert!(!budget.wants_reading(2 * READING_EVERY - 1));
    }
}
