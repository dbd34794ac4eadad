//! What a running build shows: the planned lines and a bar on a terminal (stderr), or one
//! JSON object a line on stdout (`--progress json`, the library's schema).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::args::Progress;
use super::render::{count, files_noun};
use ctpyramid::progress::JsonEvents;
use ctpyramid::{Event, OutputFormat};

/// Turns a build's events into what the terminal or a program reads.
pub struct Reporter {
    mode: Progress,
    /// The planned lines on stderr (not with `--quiet` nor `--progress json`).
    text: bool,
    bar: ProgressBar,
    json: JsonEvents,
}

impl Reporter {
    /// `Progress::Auto` is a bar on a terminal, nothing otherwise; `quiet` shows nothing.
    pub fn new(mode: Progress, quiet: bool) -> Reporter {
        let mode = match mode {
            _ if quiet => Progress::None,
            Progress::Auto if std::io::stderr().is_terminal() => Progress::Bar,
            Progress::Auto => Progress::None,
            other => other,
        };
        Reporter {
            mode,
            text: !quiet && mode != Progress::Json,
            bar: ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden()),
            json: JsonEvents::new(),
        }
    }

    /// Whether the summary is JSON.
    pub fn json(&self) -> bool {
        self.mode == Progress::Json
    }

    /// Shows one event.
    pub fn event(&mut self, event: Event) {
        if self.mode == Progress::Json {
            if let Some(line) = self.json.event(&event) {
                super::say(&line.to_string());
            }
        }
        match event {
            Event::Planned { .. } => self.planned(&event),
            Event::CropPlanned { .. } => self.crop_planned(&event),
            Event::MeshPlanned { .. } => self.mesh_planned(&event),
            Event::SliceRead { bytes, .. } => self.bar.inc(bytes),
            Event::SliceWritten { .. } => {}
        }
    }

    /// The build is over: the bar goes.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    fn crop_planned(&mut self, event: &Event) {
        let Event::CropPlanned {
            level,
            region,
            depth,
            out,
            kept,
            bytes_to_read,
            ..
        } = event
        else {
            return;
        };
        if self.text {
            let into = out.map_or(String::new(), |o| format!(" -> {}", o.display()));
            eprintln!("{}{into}", box_line(*level, region, *depth));
            if *kept > 0 {
                eprintln!(
                    "resuming: {} complete from an earlier run (--force rewrites)",
                    count(*kept, "file")
                );
            }
        }
        self.show_bar(*bytes_to_read);
    }

    fn mesh_planned(&mut self, event: &Event) {
        let Event::MeshPlanned {
            level,
            region,
            depth,
            iso,
            out,
            bytes_to_read,
            ..
        } = event
        else {
            return;
        };
        if self.text {
            let into = out.map_or(String::new(), |(o, f)| {
                format!(" -> {} ({})", o.display(), f.name())
            });
            eprintln!(
                "level {level}, {}: {}x{} x {} {depth}, surface at iso {iso}{into}",
                region.describe(),
                region.x.len(),
                region.y.len(),
                region.z.len()
            );
        }
        self.show_bar(*bytes_to_read);
    }

    /// The bar, counting `total` bytes, when it is asked for.
    fn show_bar(&mut self, total: u64) {
        if self.mode == Progress::Bar {
            self.bar.set_length(total);
            let style = ProgressStyle::with_template(
                "{bar:40} {decimal_bytes}/{decimal_total_bytes} {decimal_bytes_per_sec} ETA {eta}",
            );
            self.bar
                .set_style(style.unwrap_or_else(|_| ProgressStyle::default_bar()));
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }

    fn planned(&mut self, event: &Event) {
        let Event::Planned {
            plan,
            out_root,
            selection,
            kept,
            to_write,
            to_read,
            stale,
            shard,
            format,
            bytes_to_read,
            ..
        } = event
        else {
            return;
        };
        if self.text {
            if let Some(note) = selection {
                eprintln!("{note}");
            }
            eprintln!(
                "{} of {}x{} {} -> {} in {}",
                count(plan.slices, "slice"),
                plan.width,
                plan.height,
                plan.depth,
                count(plan.levels.len(), "level"),
                out_root.display()
            );
            if let Some(r) = shard {
                eprintln!(
                    "shard: input slices {}..{} and the outputs that depend on them",
                    r.start, r.end
                );
            }
            let mark = match format {
                OutputFormat::Tiff => "pyramid.json",
                OutputFormat::OmeZarr => "its metadata",
            };
            if *stale && to_write.slices > 0 {
                eprintln!(
                    "the pyramid in {} was built from other slices or options ({mark}): \
                     rebuilding it",
                    out_root.display()
                );
            } else if *stale {
                eprintln!(
                    "{mark} in {} was written for other slices or options: every output is \
                     this build's, so only {mark} is written again",
                    out_root.display()
                );
            }
            if kept.files > 0 && to_write.slices > 0 {
                eprintln!(
                    "resuming: {} complete from an earlier run; {to_read} of {} to read \
                     (--force rebuilds all)",
                    count(kept.files, files_noun(*format)),
                    count(plan.slices, "slice")
                );
            }
        }
        self.show_bar(*bytes_to_read);
    }
}

/// `level 1, x 0..64, y 10..20, z 0..3: 64x10 x 3 16-bit`: what a job over a box reads.
fn box_line(level: usize, region: &ctpyramid::Region, depth: ctpyramid::Depth) -> String {
    let (x, y, z) = (region.x.len(), region.y.len(), region.z.len());
    format!(
        "level {level}, {}: {x}x{y} x {z} {depth}",
        region.describe()
    )
}
