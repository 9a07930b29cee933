use super::*;

#[test]
fn table_retention_keeps_up_to_730_days_interactive_and_the_rest_long_term() {
    assert_eq!(table_retention(90), (90, 90));
    assert_eq!(table_retention(730), (730, 730));
    assert_eq!(table_retention(1095), (730, 1095));
    // Log Analytics keeps a table at least 4 days and at most 12 years.
    assert_eq!(table_retention(1), (4, 4));
    assert_eq!(table_retention(5000), (730, 4383));
}

#[test]
fn arm_techniques_are_the_techniques_of_sub_techniques() {
    let ids: Vec<String> = ["T1078", "T1110", "T1110.001", "T1110.004"]
        .iter()
        .map(|id| id.to_string())
        .collect();
    assert_eq!(parent_techniques(&ids), vec!["T1078", "T1110"]);
}

#[test]
fn iso_durations() {
    assert_eq!(iso_duration(300_000), "PT5M");
    assert_eq!(iso_duration(3_600_000), "PT1H");
    assert_eq!(iso_duration(86_400_000), "P1D");
    assert_eq!(iso_duration(86_400_000 + 300_000), "P1DT5M");
    assert_eq!(iso_duration(parse_short("70m")), "PT1H10M");
}
