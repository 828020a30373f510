//! Routing: which criterion of a rule picks a build's bucket.

pub use wharf_api::classify;

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_api::{Criterion, Metadata, Operator};

    fn criterion(op: Operator, value: &str, to: &str, priority: i64) -> Criterion {
        Criterion {
            metadata_key: "BRANCH_NAME".into(),
            operator: op,
            value: value.into(),
            route_to: to.into(),
            priority,
        }
    }

    fn branch(name: &str) -> Metadata {
        Metadata::from([("BRANCH_NAME".to_string(), name.to_string())])
    }

    #[test]
    fn lower_priority_wins_whatever_the_order() {
        let rules = [
            criterion(Operator::StartsWith, "release/", "staging", 2),
            criterion(Operator::Equals, "release/hot", "prod", 1),
        ];
        assert_eq!(
            classify(&rules, &branch("release/hot")).unwrap().route_to,
            "prod"
        );
        assert_eq!(
            classify(&rules, &branch("release/2.1")).unwrap().route_to,
            "staging"
        );
    }

    #[test]
    fn no_match_and_missing_key_leave_the_build_unclassified() {
        let rules = [criterion(Operator::Equals, "main", "dev", 1)];
        assert!(classify(&rules, &branch("feature/x")).is_none());
        assert!(classify(&rules, &Metadata::new()).is_none());
    }

    #[test]
    fn every_operator_routes() {
        let rules = [
            criterion(Operator::EndsWith, "-rc", "staging", 1),
            criterion(Operator::Contains, "hotfix", "prod", 2),
        ];
        assert_eq!(
            classify(&rules, &branch("v2-rc")).unwrap().route_to,
            "staging"
        );
        assert_eq!(
            classify(&rules, &branch("x/hotfix/y")).unwrap().route_to,
            "prod"
        );
    }
}
