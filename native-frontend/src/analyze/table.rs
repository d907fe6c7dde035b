//! The readable form of `analyze`: one line per frame, the primary face's
//! main traits only. The JSON lines carry everything else.

use super::record::FrameRecord;

/// The column titles, aligned with [`row`].
pub fn header() -> String {
    format!(
        "{:<32} {:>6} {:>5} {:<16} {:>5} {:>9} {:>6} {:>9}",
        "source", "frame", "faces", "expression", "age", "attention", "motion", "total_ms"
    )
}

/// One frame's line; `-` where a value is switched off or not measured.
pub fn row(record: &FrameRecord) -> String {
    if let Some(reason) = &record.skipped {
        return format!("{:<32} {:>6} skipped: {reason}", shorten(&record.source), record.frame);
    }
    let face = record.primary_face();
    let expression = face
        .and_then(|face| face.top_expression())
        .map_or_else(|| "-".to_owned(), |(name, p)| format!("{name} {p:.2}"));
    let number =
        |value: Option<f32>, decimals: usize| value.map_or_else(|| "-".to_owned(), |v| format!("{v:.decimals$}"));
    format!(
        "{:<32} {:>6} {:>5} {:<16} {:>5} {:>9} {:>6} {:>9.1}",
        shorten(&record.source),
        record.frame,
        record.faces.len(),
        expression,
        number(face.and_then(|face| face.age), 0),
        number(face.and_then(|face| face.attention), 2),
        number(record.motion, 2),
        record.total_ms()
    )
}

/// The end of a long path, which is the part that tells files apart.
fn shorten(source: &str) -> String {
    const WIDTH: usize = 32;
    let count = source.chars().count();
    if count <= WIDTH {
        return source.to_owned();
    }
    let tail: String = source.chars().skip(count - (WIDTH - 1)).collect();
    format!("…{tail}")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::analyze::record::FaceRecord;

    fn record(faces: Vec<FaceRecord>) -> FrameRecord {
        FrameRecord {
            source: "photos/a.png".into(),
            frame: 7,
            width: 640,
            height: 480,
            skipped: None,
            faces,
            motion: Some(0.25),
            traits: None,
            timing_ms: BTreeMap::from([("detect", 30.5), ("landmarks", 10.0)]),
            permanence_ms: Some(41.0),
        }
    }

    fn face(side_px: f32, age: f32) -> FaceRecord {
        FaceRecord {
            box_px: [0.0, 0.0, side_px, side_px],
            score: 0.9,
            landmarks: Vec::new(),
            expression: None,
            age: Some(age),
            gender: None,
            glasses: None,
            beard: None,
            pose: None,
            eyes_open: None,
            attention: Some(0.5),
        }
    }

    #[test]
    fn a_row_shows_the_largest_face_under_the_header() {
        let line = row(&record(vec![face(20.0, 60.0), face(80.0, 33.0)]));
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cells, ["photos/a.png", "7", "2", "-", "33", "0.50", "0.25", "40.5"]);
        assert_eq!(header().split_whitespace().count(), cells.len());
        assert_eq!(header().find("frame").map(|i| i + 5), line.find(" 7").map(|i| i + 2));
    }

    #[test]
    fn skipped_frames_and_long_paths_stay_readable() {
        let skipped = FrameRecord {
            skipped: Some("budget spent".into()),
            ..record(Vec::new())
        };
        assert!(row(&skipped).ends_with("7 skipped: budget spent"), "{}", row(&skipped));
        let long = shorten(&format!("{}/end.png", "d".repeat(60)));
        assert_eq!(long.chars().count(), 32);
        assert!(long.starts_with('…') && long.ends_with("dd/end.png"));
    }
}
