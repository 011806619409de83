use blazes_annotations::blazes;

#[blazes(OR(id, *))]
struct Report;

fn main() {}
