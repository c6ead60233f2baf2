//! `oai models`: one model id per line, or the server's list object with `--json`.

use std::io::Write;

use crate::args::{Global, ModelsArgs};
use crate::fail::Failure;
use crate::{connect, out};

pub fn run(g: &Global, a: &ModelsArgs) -> Result<(), Failure> {
    let client = connect::client(g, 1)?;
    let mut stdout = std::io::stdout().lock();
    if a.json {
        let list = client.raw().get("/models")?;
        return out::json_line(&mut stdout, &list.value);
    }
    let list = client.models().list()?;
    for m in &list.data {
        writeln!(stdout, "{}", m.id).map_err(out::write_failed)?;
    }
    stdout.flush().map_err(out::write_failed)
}
