use blazes_annotations::blazes;

#[blazes(CR, replicatd)]
fn split() {}

fn main() {}
