//! JUnit XML for CI systems that display test results.

use std::collections::BTreeMap;

use super::{Report, Status};

/// Renders the report as JUnit XML: one `testsuite` per rule, one `testcase` per case.
pub fn render(report: &Report) -> String {
    let mut suites: BTreeMap<&str, Vec<&super::Outcome>> = BTreeMap::new();
    for outcome in &report.outcomes {
        suites
            .entry(outcome.rule.as_str())
            .or_default()
            .push(outcome);
    }
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    xml.push_str(&format!(
        "<testsuites name=\"tripline\" tests=\"{}\" failures=\"{}\">\n",
        report.outcomes.len(),
        report.failed()
    ));
    for (rule, outcomes) in suites {
        let failures = outcomes
            .iter()
            .filter(|outcome| outcome.status == Status::Failed)
            .count();
        xml.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\">\n",
            escape(rule),
            outcomes.len()
        ));
        for outcome in outcomes {
            xml.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\" line=\"{}\"",
                escape(rule),
                escape(&outcome.name),
                escape(&outcome.file),
                outcome.line
            ));
            if outcome.status == Status::Passed {
                xml.push_str("/>\n");
            } else {
                let first_line = outcome.message.lines().next().unwrap_or_default();
                xml.push_str(&format!(
                    ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
                    escape(first_line),
                    escape(&outcome.message)
                ));
            }
        }
        xml.push_str("  </testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    xml
}

/// Escapes text for XML attributes and content.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup_and_drops_control_characters() {
        assert_eq!(escape("a<b & \"c\"\u{1}"), "a&lt;b &amp; &quot;c&quot;");
    }
}
