use blazes_annotations::blazes;

#[blazes(replicated)]
struct Cache;

fn main() {}
