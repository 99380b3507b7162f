//! The item catalog through gRPC: validation, GTIN ownership, paging.

use serialtrack::proto::v1 as pb;
use tonic::Code;

use crate::support::{TestServer, item};

#[tokio::test]
async fn items_are_validated_before_they_are_stored() {
    let server = TestServer::start().await;
    let cases: &[(pb::Item, &str)] = &[
        (item(""), "sku is required"),
        (item(&"A".repeat(41)), "at most 40"),
        (item("TV 65"), "character ' ' at position 3"),
        (
            pb::Item {
                gtin: "4006381333932".into(),
                ..item("A")
            },
            "expected 1",
        ),
        (
            pb::Item {
                gtin: "12345".into(),
                ..item("A")
            },
            "8, 12, 13 or 14 digits",
        ),
        (
            pb::Item {
                description: "d".repeat(501),
                ..item("A")
            },
            "description has 501 bytes",
        ),
        (
            pb::Item {
                warranty_months: 1201,
                ..item("A")
            },
            "1201 months",
        ),
        (
            pb::Item {
                serial_rule: Some(pb::SerialRule {
                    length_min: 9,
                    length_max: 4,
                    ..Default::default()
                }),
                ..item("A")
            },
            "length_min",
        ),
        (
            pb::Item {
                serial_rule: Some(pb::SerialRule {
                    charset: pb::Charset::Alphanumeric.into(),
                    check: pb::CheckScheme::Luhn.into(),
                    ..Default::default()
                }),
                ..item("A")
            },
            "Luhn needs the digits 0-9 charset",
        ),
        (
            pb::Item {
                serial_rule: Some(pb::SerialRule {
                    charset: 42,
                    ..Default::default()
                }),
                ..item("A")
            },
            "charset 42",
        ),
    ];
    for (bad, want) in cases {
        let status = server
            .catalog()
            .put_item(pb::PutItemRequest {
                item: Some(bad.clone()),
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{want}");
        assert!(
            status.message().contains(want),
            "{want}: {}",
            status.message()
        );
    }
    let status = server
        .catalog()
        .put_item(pb::PutItemRequest { item: None })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let listed = server
        .catalog()
        .list_items(pb::ListItemsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.items.is_empty(), "a refused item was stored");
}

#[tokio::test]
async fn put_get_update_and_gtin_ownership() {
    let server = TestServer::start().await;
    let created = server
        .catalog()
        .put_item(pb::PutItemRequest {
            item: Some(pb::Item {
                gtin: "96385074".into(),
                ..item("EAN8")
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(created.created);
    let stored = created.item.unwrap();
    assert_eq!(stored.gtin, "00000096385074");
    let rule = stored.serial_rule.clone().unwrap();
    assert_eq!(
        (rule.length_min, rule.length_max, rule.charset()),
        (1, 64, pb::Charset::Gs182)
    );

    let taken = server
        .catalog()
        .put_item(pb::PutItemRequest {
            item: Some(pb::Item {
                gtin: "96385074".into(),
                ..item("OTHER")
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(taken.code(), Code::AlreadyExists);
    assert!(
        taken.message().contains("belongs to sku EAN8"),
        "{}",
        taken.message()
    );

    // Moving the GTIN off EAN8 frees it for another item.
    let updated = server
        .catalog()
        .put_item(pb::PutItemRequest {
            item: Some(pb::Item {
                description: "renamed".into(),
                ..item("EAN8")
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!updated.created);
    server
        .add_item(pb::Item {
            gtin: "96385074".into(),
            ..item("OTHER")
        })
        .await;

    let got = server
        .catalog()
        .get_item(pb::GetItemRequest { sku: "EAN8".into() })
        .await
        .unwrap()
        .into_inner()
        .item
        .unwrap();
    assert_eq!(
        (got.description.as_str(), got.gtin.as_str()),
        ("renamed", "")
    );
    let missing = server
        .catalog()
        .get_item(pb::GetItemRequest { sku: "NOPE".into() })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
}

#[tokio::test]
async fn list_items_pages_in_sku_order() {
    let server = TestServer::start().await;
    for i in (0..25).rev() {
        server.add_item(item(&format!("SKU-{i:02}"))).await;
    }
    let mut seen = Vec::new();
    let mut after = String::new();
    loop {
        let page = server
            .catalog()
            .list_items(pb::ListItemsRequest {
                after_sku: after.clone(),
                limit: 10,
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.items.len() <= 10);
        seen.extend(page.items.into_iter().map(|i| i.sku));
        if page.next_after_sku.is_empty() {
            break;
        }
        after = page.next_after_sku;
    }
    let want: Vec<_> = (0..25).map(|i| format!("SKU-{i:02}")).collect();
    assert_eq!(seen, want);
    let status = server
        .catalog()
        .list_items(pb::ListItemsRequest {
            after_sku: String::new(),
            limit: 100_000,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
}
