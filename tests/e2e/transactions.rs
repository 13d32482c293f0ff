//! `GET /transactions`: the caller's site's transactions, newest first, filtered and paged.

use eps_e2e::{Backend, SimSite};
use serde_json::Value;
use time::Duration;

fn ids(reply: &eps_e2e::Reply) -> Vec<String> {
    reply.body["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["transactionID"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn lists_filter_by_state_poi_and_time_and_page_with_next_links() {
    for backend in Backend::all() {
        let site = SimSite::start(backend).await;
        let pos = site.pos("pos-1", "read write").await;
        let mut made = Vec::new();
        for (n, (poi, value)) in [
            (&pos.lane, "1.00"),
            (&pos.lane, "2.05"),
            (&pos.pump, "3.00"),
            (&pos.lane, "4.00"),
            (&pos.pump, "5.05"),
        ]
        .into_iter()
        .enumerate()
        {
            made.push(pos.pay(poi, value).await.ok().transaction_id());
            site.app.advance(Duration::seconds(20));
            pos.client
                .heartbeat(&pos.connection, n as u64 + 2)
                .await
                .ok();
        }
        let newest_first: Vec<String> = made.iter().rev().cloned().collect();

        let all = pos.get("/transactions").await.ok();
        assert_eq!(ids(&all), newest_first);
        assert_eq!(all.body["next"], Value::Null);

        let declined = pos.get("/transactions?state=declined").await.ok();
        assert_eq!(ids(&declined), vec![made[4].clone(), made[1].clone()]);
        let pump = pos
            .get(&format!("/transactions?poiID={}", pos.pump))
            .await
            .ok();
        assert_eq!(ids(&pump), vec![made[4].clone(), made[2].clone()]);
        // Created 09:00:20 (inclusive) up to 09:01:00 (exclusive).
        let window = pos
            .get("/transactions?from=2026-01-05T09:00:20Z&to=2026-01-05T09:01:00")
            .await
            .ok();
        assert_eq!(ids(&window), vec![made[2].clone(), made[1].clone()]);

        let mut page = pos.get("/transactions?limit=2&state=approved").await.ok();
        let mut seen = ids(&page);
        while let Some(next) = page.body["next"].as_str() {
            assert!(
                next.contains("state=approved") && next.contains("limit=2"),
                "{next}"
            );
            page = pos.get(next).await.ok();
            seen.extend(ids(&page));
        }
        assert_eq!(
            seen,
            vec![made[3].clone(), made[2].clone(), made[0].clone()]
        );

        for (query, field) in [
            ("state=done", "state"),
            ("poiID=x", "poiID"),
            ("from=yesterday", "from"),
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("before=x", "before"),
        ] {
            let reply = pos
                .get(&format!("/transactions?{query}"))
                .await
                .failure(400, "ERRCD_BADREQUEST");
            assert!(reply.message().starts_with(field), "{query}: {reply:#?}");
        }
        site.assert_agrees_with_ledgers().await;
        site.stop().await;
    }
}
