//! The embedded store (SQLite): webinars and their per-minute reports, and
//! nothing else. A report row holds only the noisy, k-thresholded counts of
//! one minute (see `reports`); no table has a column that could hold a
//! viewer, a connection or an address.

use std::path::Path;

use parterre_aggregate::{AGE_BUCKETS, Band, NoisyRelease, NoisySplit};
use rusqlite::{Connection, params_from_iter};

use crate::{ServerError, webinar::Webinar};

/// The report columns, in table and CSV order. Counts are noisy; a NULL is
/// a cell whose noisy count fell under the threshold.
pub const REPORT_COLUMNS: [&str; 22] = [
    "minute_index",
    "minute_start_unix_s",
    "epsilon_milli",
    "threshold",
    "viewers",
    "viewers_half_width",
    "face_yes",
    "face_no",
    "age_under_18",
    "age_18_24",
    "age_25_34",
    "age_35_44",
    "age_45_54",
    "age_55_64",
    "age_65_plus",
    "female_yes",
    "female_no",
    "glasses_yes",
    "glasses_no",
    "beard_yes",
    "beard_no",
    "stored_unix_s",
];

/// One stored minute: a value (or NULL) per [`REPORT_COLUMNS`] entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow(pub [Option<i64>; REPORT_COLUMNS.len()]);

fn count(band: Band) -> i64 {
    // Noisy counts are whole numbers held in f64.
    band.estimate as i64
}

fn split(split: Option<NoisySplit>) -> [Option<i64>; 2] {
    [split.map(|s| count(s.yes_viewers)), split.map(|s| count(s.no_viewers))]
}

impl ReportRow {
    /// The row for minute `minute_index` of a webinar created at
    /// `created_unix_s`, from its release.
    pub fn new(minute_index: u64, created_unix_s: u64, release: &NoisyRelease, stored_unix_s: u64) -> Self {
        let whole = |n: u64| Some(i64::try_from(n).unwrap_or(i64::MAX));
        let mut values: Vec<Option<i64>> = vec![
            whole(minute_index),
            whole(created_unix_s.saturating_add(minute_index.saturating_mul(60))),
            whole(u64::from(release.epsilon.milli())),
            whole(release.threshold),
            Some(count(release.viewers)),
            Some((release.viewers.high - release.viewers.estimate) as i64),
        ];
        values.extend(split(release.face));
        values.extend(release.age_viewers.map(|cell| cell.map(count)));
        for binary in [release.female, release.glasses, release.beard] {
            values.extend(split(binary));
        }
        values.push(whole(stored_unix_s));
        let mut row = [None; REPORT_COLUMNS.len()];
        row.copy_from_slice(&values);
        Self(row)
    }
}

const _: () = assert!(REPORT_COLUMNS.len() == 6 + 2 + AGE_BUCKETS + 6 + 1);

/// The store.
#[derive(Debug)]
pub struct Store {
    connection: Connection,
}

impl Store {
    /// Opens (creating when needed) the store at `path`; `:memory:` keeps it
    /// in memory.
    pub fn open(path: &Path) -> Result<Self, ServerError> {
        let connection = Connection::open(path)?;
        let columns: Vec<String> = REPORT_COLUMNS.iter().map(|c| format!("{c} INTEGER")).collect();
        connection.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS webinars (
                 id TEXT PRIMARY KEY,
                 context TEXT NOT NULL,
                 created_unix_s INTEGER NOT NULL,
                 budget_milli_epsilon INTEGER NOT NULL,
                 max_stored_minutes INTEGER NOT NULL
             );
             CREATE TABLE IF NOT EXISTS minute_reports (
                 webinar_id TEXT NOT NULL REFERENCES webinars(id),
                 {},
                 PRIMARY KEY (webinar_id, minute_index)
             );",
            columns.join(",\n                 ")
        ))?;
        Ok(Self { connection })
    }

    /// Records a new webinar and how its budget is split.
    pub fn add_webinar(
        &self,
        webinar: &Webinar,
        budget_milli_epsilon: u64,
        max_stored_minutes: u32,
    ) -> Result<(), ServerError> {
        self.connection.execute(
            "INSERT INTO webinars (id, context, created_unix_s, budget_milli_epsilon, max_stored_minutes)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            rusqlite::params![
                webinar.id,
                webinar.context.as_str(),
                i64::try_from(webinar.created_unix_s).unwrap_or(i64::MAX),
                i64::try_from(budget_milli_epsilon).unwrap_or(i64::MAX),
                max_stored_minutes
            ],
        )?;
        Ok(())
    }

    /// Stores one minute of `webinar_id`.
    pub fn insert(&self, webinar_id: &str, row: &ReportRow) -> Result<(), ServerError> {
        let placeholders: Vec<String> = (2..=REPORT_COLUMNS.len() + 1).map(|i| format!("?{i}")).collect();
        let sql = format!(
            "INSERT INTO minute_reports (webinar_id, {}) VALUES (?1, {})",
            REPORT_COLUMNS.join(", "),
            placeholders.join(", ")
        );
        let values = std::iter::once(rusqlite::types::Value::Text(webinar_id.to_owned())).chain(
            row.0
                .iter()
                .map(|v| v.map_or(rusqlite::types::Value::Null, rusqlite::types::Value::Integer)),
        );
        self.connection.execute(&sql, params_from_iter(values))?;
        Ok(())
    }

    /// Every stored minute of `webinar_id`, in order.
    pub fn rows(&self, webinar_id: &str) -> Result<Vec<ReportRow>, ServerError> {
        let known: bool = self.connection.query_row(
            "SELECT EXISTS (SELECT 1 FROM webinars WHERE id = ?1)",
            [webinar_id],
            |row| row.get(0),
        )?;
        if !known {
            return Err(ServerError::NoWebinar(webinar_id.to_owned()));
        }
        let mut statement = self.connection.prepare(&format!(
            "SELECT {} FROM minute_reports WHERE webinar_id = ?1 ORDER BY minute_index",
            REPORT_COLUMNS.join(", ")
        ))?;
        let rows = statement.query_map([webinar_id], |row| {
            let mut values = [None; REPORT_COLUMNS.len()];
            for (i, value) in values.iter_mut().enumerate() {
                *value = row.get(i)?;
            }
            Ok(ReportRow(values))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// `webinar_id`'s reports as CSV: a header of [`REPORT_COLUMNS`], one
    /// line per minute, empty fields for suppressed cells.
    pub fn export_csv(&self, webinar_id: &str) -> Result<String, ServerError> {
        let mut csv = REPORT_COLUMNS.join(",");
        csv.push('\n');
        for row in self.rows(webinar_id)? {
            let fields: Vec<String> = row
                .0
                .iter()
                .map(|v| v.map(|n| n.to_string()).unwrap_or_default())
                .collect();
            csv.push_str(&fields.join(","));
            csv.push('\n');
        }
        Ok(csv)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_and_export_as_csv() {
        let store = Store::open(Path::new(":memory:")).expect("open");
        let webinar = Webinar::new(crate::webinar::Context::General);
        store.add_webinar(&webinar, 1_000, 60).expect("webinar");
        let mut values = [None; REPORT_COLUMNS.len()];
        values[0] = Some(0);
        values[4] = Some(42);
        let row = ReportRow(values);
        store.insert(&webinar.id, &row).expect("insert");
        assert_eq!(store.rows(&webinar.id).expect("rows"), vec![row]);
        let csv = store.export_csv(&webinar.id).expect("csv");
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("minute_index,minute_start_unix_s,"));
        assert!(lines[1].starts_with("0,,,,42,"), "{}", lines[1]);
        assert!(matches!(store.rows("nope"), Err(ServerError::NoWebinar(_))));
    }
}
