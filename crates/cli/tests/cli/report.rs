//! `thinktee report`: the page opened in headless Chromium (Debian's
//! `chromium`, installed by `scripts/setup-chromium.sh`), its screenshot
//! not blank and its DOM holding every chart, with the counts worked out
//! by hand in `fixtures/report/README.md`.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::support::{root, thinktee};

/// How long Chromium may take to load, draw and dump the page (a bound on
/// a stuck browser, not a measure: nothing asserts on time).
const CHROMIUM_LIMIT: Duration = Duration::from_secs(180);

/// The charts' figures, as the page names them.
const CHARTS: [&str; 6] = [
    "chart-thinking-tax",
    "chart-thinking",
    "chart-reasoning-share",
    "chart-tokens",
    "chart-outcomes",
    "chart-filters",
];

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("thinktee-cli-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// The browser, installed if missing; `None` when THINKTEE_SKIP_CHROMIUM=1.
fn chromium() -> Option<PathBuf> {
    if std::env::var_os("THINKTEE_SKIP_CHROMIUM").is_some_and(|v| v == "1") {
        eprintln!("THINKTEE_SKIP_CHROMIUM=1: skipping the headless Chromium test");
        return None;
    }
    let out = Command::new("bash")
        .arg(root().join("scripts/setup-chromium.sh"))
        .current_dir(root())
        .output()
        .expect("run scripts/setup-chromium.sh");
    assert!(
        out.status.success(),
        "scripts/setup-chromium.sh failed (it installs Debian's chromium with apt-get, as root \
         or through sudo; set THINKTEE_SKIP_CHROMIUM=1 to skip this test):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    Some(PathBuf::from(stdout.lines().last().expect("chromium's path").trim()))
}

fn is_root() -> bool {
    fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
    })
}

/// Runs headless Chromium on `page` with `args`, stdout to `stdout`, in a
/// profile of its own under `dir`; killed past [`CHROMIUM_LIMIT`].
fn headless(chromium: &Path, dir: &Path, page: &Path, args: &[&str], stdout: &Path) -> ExitStatus {
    let profile = dir.join(format!("profile-{}", args.len()));
    let mut command = Command::new(chromium);
    if is_root() {
        command.arg("--no-sandbox");
    }
    command
        .args([
            "--headless",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        // Files, not pipes: a helper process outliving the browser cannot
        // hold the test up.
        .stdout(File::create(stdout).unwrap())
        .stderr(File::create(dir.join("chromium.stderr")).unwrap());
    let mut child = command.spawn().expect("spawn chromium");
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > CHROMIUM_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not finish within {CHROMIUM_LIMIT:?}:\n{}",
                fs::read_to_string(dir.join("chromium.stderr")).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Pixels of the screenshot: how many differ from the top-left one (the
/// background), and how many are strongly coloured (bars, dots).
fn pixels(png: &Path) -> (u32, u32, u64, u64) {
    let decoder = png::Decoder::new(std::io::BufReader::new(File::open(png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    assert!(channels >= 3 && info.bit_depth == png::BitDepth::Eight, "{info:?}");
    let data = &buf[..info.buffer_size()];
    let background = &data[..3];
    let (mut differ, mut coloured) = (0u64, 0u64);
    for px in data.chunks_exact(channels) {
        let rgb = &px[..3];
        differ += u64::from(rgb != background);
        let (max, min) = (rgb.iter().max().unwrap(), rgb.iter().min().unwrap());
        coloured += u64::from(max - min >= 64);
    }
    (info.width, info.height, differ, coloured)
}

#[test]
fn the_report_opens_in_headless_chromium_with_every_chart() {
    let Some(chromium) = chromium() else { return };
    let dir = temp_dir("report-chromium");
    let page = dir.join("report.html");
    let out = thinktee(&["report", "--html", page.to_str().unwrap(), "fixtures/report"], b"");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let shot = dir.join("report.png");
    let screenshot = format!("--screenshot={}", shot.display());
    let status = headless(
        &chromium,
        &dir,
        &page,
        &[&screenshot, "--window-size=1200,2000"],
        &dir.join("shot.out"),
    );
    assert!(status.success(), "{}", fs::read_to_string(dir.join("chromium.stderr")).unwrap());
    let (width, height, differ, coloured) = pixels(&shot);
    eprintln!(
        "screenshot {width}x{height}: {differ} pixels off the background, {coloured} coloured"
    );
    assert_eq!((width, height), (1200, 2000));
    // A blank page has none of either; the cards, axes and text alone
    // colour far fewer than the bars.
    assert!(differ >= 100_000, "{differ} pixels off the background");
    assert!(coloured >= 50_000, "{coloured} coloured pixels");

    let dom = dir.join("dom.html");
    let status = headless(&chromium, &dir, &page, &["--dump-dom"], &dom);
    assert!(status.success(), "{}", fs::read_to_string(dir.join("chromium.stderr")).unwrap());
    let dom = fs::read_to_string(&dom).unwrap();
    for id in CHARTS {
        assert_eq!(dom.matches(&format!("<figure id=\"{id}\"><svg ")).count(), 1, "{id}");
    }
    assert_eq!(dom.matches("<svg ").count(), CHARTS.len());
    assert_eq!(dom.matches("<table id=\"table-slowest\">").count(), 1);
    // Ten slowest streams, one row each.
    let body = dom.split("<tbody>").nth(1).unwrap().split("</tbody>").next().unwrap();
    assert_eq!(body.matches("<tr>").count(), 10);
    // The cards as counted by hand (fixtures/report/README.md).
    for (card, value) in [("streams", 16), ("models", 5), ("complete", 8), ("cut-in-reasoning", 3)]
    {
        let attr = format!("id=\"card-{card}\" data-value=\"{value}\"");
        assert_eq!(dom.matches(&attr).count(), 1, "{attr}");
    }
    // The model named <script>alert(1)</script> is text, not an element.
    assert_eq!(dom.to_ascii_lowercase().matches("<script").count(), 0);
    assert!(dom.matches("&lt;script&gt;alert(1)&lt;/script&gt;").count() >= 3);
    fs::remove_dir_all(&dir).unwrap();
}

/// The splitter options reach the report: Magistral's `[THINK]` is
/// reasoning under `--preset magistral` only (one stream, one choice).
#[test]
fn the_preset_decides_what_the_report_counts_as_reasoning() {
    let dir = temp_dir("preset");
    let fixture = root().join("fixtures/e2e/preset_magistral_think.sse");
    let reasoning_card = |preset: &str| {
        let page = dir.join(format!("{preset}.html"));
        let (page_arg, fixture_arg) = (page.to_str().unwrap(), fixture.to_str().unwrap());
        let out = thinktee(&["report", "--preset", preset, "--html", page_arg, fixture_arg], b"");
        assert!(out.status.success(), "{preset}: {}", String::from_utf8_lossy(&out.stderr));
        let html = fs::read_to_string(&page).unwrap();
        let at = html.find("id=\"card-reasoning\" data-value=\"").expect("the reasoning card");
        let value = &html[at + "id=\"card-reasoning\" data-value=\"".len()..];
        value[..value.find('"').unwrap()].to_owned()
    };
    assert_eq!(reasoning_card("magistral"), "1");
    assert_eq!(reasoning_card("deepseek-r1"), "0");
    fs::remove_dir_all(&dir).unwrap();
}
