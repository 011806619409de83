use blazes_annotations::blazes;

#[blazes(seal)]
fn tweets() {}

fn main() {}
