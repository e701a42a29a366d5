//! The account a run works on, as the policies and ARNs the controls write need it.

/// Whom a run works for: the account, its partition and home region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    pub partition: String,
    pub home_region: String,
    /// In an organization run with a log archive account: where the organization's logs
    /// go, which changes whom the log key and buckets let write (the organization trail
    /// of the management account, every member's AWS Config) and where the trail and
    /// recorders deliver.
    pub central: Option<CentralLogs>,
}

/// The organization's central logs: the organization trail of `management` delivers to
/// the buckets of `archive`, encrypted with its log key, as does every member's AWS Config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CentralLogs {
    pub management: String,
    pub archive: String,
    /// `o-…`: the condition (`aws:SourceOrgID`) and the trail's prefix.
    pub org_id: String,
}

impl Account {
    /// The account the tests use.
    #[cfg(test)]
    pub fn example(home_region: &str) -> Account {
        Account {
            id: "123456789012".into(),
            partition: "aws".into(),
            home_region: home_region.into(),
            central: None,
        }
    }

    /// The account that holds the log buckets and key: the log archive in an
    /// organization run that has one, else this one.
    pub fn log_account(&self) -> &str {
        self.central.as_ref().map_or(&self.id, |c| &c.archive)
    }

    /// The account whose trail writes to the log bucket and key: the management account
    /// in an organization run with a log archive, else this one.
    pub fn trail_account(&self) -> &str {
        self.central.as_ref().map_or(&self.id, |c| &c.management)
    }

    pub fn trail_arn(&self, name: &str) -> String {
        format!(
            "arn:{}:cloudtrail:{}:{}:trail/{name}",
            self.partition,
            self.home_region,
            self.trail_account()
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
