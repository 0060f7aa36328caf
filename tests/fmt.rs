//! `tollgate fmt`: the formatter proves itself on every policy we have.

use crate::util::{code, stderr, stdout, tollgate};

#[test]
fn the_shipped_policies_are_formatted() {
    let out = tollgate(&["fmt", "--check", "policies/ampere.policy"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(stdout(&out).is_empty());
}

#[test]
fn fmt_rewrites_and_check_lists() {
    let dir = std::env::temp_dir().join(format!("tollgate-fmt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let messy = dir.join("messy.policy");
    std::fs::write(
        &messy,
        "policy   messy\n// roles\nrole  owner   with billing access\npermit owner to all\nactions work:run,   walk\n\n\n\nstate ok   otherwise // always\n",
    )
    .unwrap();
    let path = messy.to_str().unwrap();
    let check = tollgate(&["fmt", "--check", path]);
    assert_eq!(code(&check), 1);
    assert_eq!(stdout(&check).trim(), path);
    assert!(
        std::fs::read_to_string(&messy)
            .unwrap()
            .starts_with("policy   messy"),
        "--check changes nothing"
    );

    let fix = tollgate(&["fmt", path]);
    assert_eq!(code(&fix), 0, "{}", stderr(&fix));
    let text = std::fs::read_to_string(&messy).unwrap();
    insta::assert_snapshot!(text);
    assert_eq!(code(&tollgate(&["fmt", "--check", path])), 0);

    // A policy with a syntax error is reported and left alone.
    let broken = dir.join("broken.policy");
    std::fs::write(&broken, "policy b\nrole\n").unwrap();
    let out = tollgate(&["fmt", broken.to_str().unwrap()]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("syntax_error"));
    assert_eq!(
        std::fs::read_to_string(&broken).unwrap(),
        "policy b\nrole\n"
    );
    assert_eq!(
        code(&tollgate(&[
            "fmt",
            dir.join("none.policy").to_str().unwrap()
        ])),
        2
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
