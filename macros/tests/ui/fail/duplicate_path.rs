use blazes_annotations::blazes;

#[blazes(path(click -> response, CW), path(request -> response, CR), path(click -> response, OR(id)))]
struct Report;

fn main() {}
