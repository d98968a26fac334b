"""What the product knows: metrics, periods, analysis. Pure: no Slack, no SQL, no network."""
