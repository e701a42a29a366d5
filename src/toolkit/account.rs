//! The account a run works on, as the policies and ARNs the controls write need it.

/// Whom a run works for: the account, its partition and home region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    pub partition: String,
    pub home_region: String,
}

impl Account {
    /// The account the tests use.
    #[cfg(test)]
    pub fn example(home_region: &str) -> Account {
        Account {
            id: "123456789012".into(),
            partition: "aws".into(),
            home_region: home_region.into(),
        }
    }

    pub fn trail_arn(&self, name: &str) -> String {
        format!(
            "arn:{}:cloudtrail:{}:{}:trail/{name}",
            self.partition, self.home_region, self.id
        )
    }

    /// An SNS topic of ours, in the home region.
    pub fn topic_arn(&self, name: &str) -> String {
        format!(
            "arn:{}:sns:{}:{}:{name}",
            self.partition, self.home_region, self.id
        )
    }
}
