use super::*;
use mlua::{Function, MultiValue, thread::ThreadStatus};

fn limits() -> Limits {
    Limits { stuck: 50, stuck_error: "stuck".into() }
}

fn thread(lua: &Lua, code: &str) -> Thread {
    let f: Function = lua.load(code).into_function().unwrap();
    lua.create_thread(f).unwrap()
}

#[test]
fn a_loop_yields_every_slice_and_finishes_with_its_value() {
    let lua = Lua::new();
    let t = thread(&lua, "local n = 0 for i = 1, 100000 do n = n + i end return n");
    install(&lua, &t, 1000, &limits()).unwrap();
    let mut resumes = 0;
    let value = loop {
        let out: MultiValue = t.resume(()).unwrap();
        resumes += 1;
        if t.status() != ThreadStatus::Resumable {
            break out.into_iter().next().unwrap();
        }
        assert!(out.is_empty(), "a hook yield returns no values");
    };
    assert_eq!(value.as_i64(), Some(5000050000));
    assert!(resumes > 100, "{resumes} slices");
    assert_eq!(slices(&lua), resumes - 1);
}

#[test]
fn an_endless_loop_is_killed_and_pcall_cannot_swallow_it() {
    let lua = Lua::new();
    let t = thread(&lua, "while true do pcall(function() end) end");
    install(&lua, &t, 100, &limits()).unwrap();
    for _ in 0..10 {
        let _: MultiValue = t.resume(()).unwrap();
        assert_eq!(t.status(), ThreadStatus::Resumable);
    }
    kill(&lua, &t, "killed").unwrap();
    let err = t.resume::<MultiValue>(()).unwrap_err().to_string();
    assert!(err.contains("killed"), "{err}");
}

#[test]
fn a_loop_inside_pcall_cannot_yield_and_stops_at_the_stuck_limit() {
    let lua = Lua::new();
    let t = thread(&lua, "local ok, e = pcall(function() while true do end end) return e");
    install(&lua, &t, 100, &limits()).unwrap();
    // pcall catches the stuck error once; the loop is then over.
    let mut out: MultiValue = t.resume(()).unwrap();
    while t.status() == ThreadStatus::Resumable {
        out = t.resume(()).unwrap();
    }
    assert_eq!(out.into_iter().next().unwrap().to_string().unwrap(), "stuck");
    assert_eq!(slices(&lua), 1, "the stuck slice searches instruction by instruction");
}

#[test]
fn a_nested_coroutine_is_not_yielded_by_the_hook() {
    let lua = Lua::new();
    let t = thread(
        &lua,
        "local co = coroutine.create(function() local n = 0 for i = 1, 3000 do n = n + 1 end return n end)
         local ok, n = coroutine.resume(co) return n",
    );
    install(&lua, &t, 100, &Limits { stuck: 1000, stuck_error: "stuck".into() }).unwrap();
    let out = loop {
        let out: MultiValue = t.resume(()).unwrap();
        if t.status() != ThreadStatus::Resumable {
            break out;
        }
    };
    assert_eq!(out.into_iter().next().unwrap().as_i64(), Some(3000));
}
