use blazes_annotations::blazes;

#[blazes(CR, name = "2words")]
fn split() {}

fn main() {}
