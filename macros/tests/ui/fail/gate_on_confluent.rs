use blazes_annotations::blazes;

#[blazes(CR(word))]
fn split() {}

fn main() {}
