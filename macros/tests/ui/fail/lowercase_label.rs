use blazes_annotations::blazes;

#[blazes(ow(word))]
struct Count;

fn main() {}
