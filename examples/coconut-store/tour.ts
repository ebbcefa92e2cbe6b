// A short tour of the track set API on the coconut store: every feature, one line each.
import { bucketOf, forceTracks, forEachTrack, MultiTrackSet, TrackSet } from 'tracks';
import { renderCoconutCatalog } from './catalog.js';
import type { User } from './catalog.js';
import { CatalogTests, DelayTracks, PricingTracks } from './tracks.js';

/** Instance tracks can read the run's context and key. A careful first run: 10% coverage. */
class GreetingTracks extends TrackSet<{ user: User }> {
  static id = 'greeting';
  static coverage = 0.1;
  static weights = { control: 2, formal: 1, casual: 1 };

  formalTrack(): string {
    return `Good day, ${this.context.user.id}.`;
  }

  casualTrack(): string {
    return `Hey ${this.context.user.id}!`;
  }
}

export async function tour(print: (line: string) => void): Promise<void> {
  const alice: User = { id: 'alice', isVip: false };
  const vip: User = { id: 'victoria', isVip: true };

  {
    using track = new DelayTracks({ key: alice.id, context: { user: alice } });
    await track.run();
    print(`alice is on delay track '${track.name}' (${track.reason}); she gets it on every request and every server`);
  }
  {
    using track = new DelayTracks({ key: vip.id, context: { user: vip } });
    print(`a VIP gets '${track.name}' (${track.reason}), never a slower page`);
  }
  {
    using pricing = PricingTracks.choose({ key: alice.id, context: { user: alice } });
    const response = renderCoconutCatalog();
    pricing.run(response);
    print(`alice sees prices ${response.coconuts.map((c) => c.price).join(', ')} (${pricing.name})`);
  }
  {
    using tests = new CatalogTests({ key: alice.id, context: { user: alice } });
    print(`both tests at once: alice is in '${tests.trackSet?.id}', track '${tests.name}'`);
    using inline = new MultiTrackSet([DelayTracks, PricingTracks], { key: alice.id, context: { user: alice } });
    print(`the same choice with the sets listed inline: '${inline.trackSet?.id}'`);
  }
  {
    const key = { country: 'NL', articleId: 7 };
    const same = bucketOf(DelayTracks, key) === bucketOf(DelayTracks, { articleId: 7, country: 'NL' });
    print(`keys can be objects: { country, articleId } in any order is one key (${same ? 'same track' : 'BUG'})`);
  }
  {
    const greeting = await GreetingTracks.with({ key: alice.id, context: { user: alice } }, (track) => track.run() ?? 'Hello.');
    print(`callback form, instance tracks, 10% coverage: "${String(greeting)}"`);
  }
  {
    using forced = new DelayTracks({ key: alice.id, context: { user: alice }, force: 'long' });
    print(`QA forces a track per call: '${forced.name}' (${forced.reason}, in test: ${forced.inTest})`);
    forceTracks({ delay: 'short' }, () => {
      using scoped = new DelayTracks({ key: alice.id, context: { user: alice } });
      print(`or for a whole request: '${scoped.name}'`);
    });
    const seen: string[] = [];
    await forEachTrack(DelayTracks, async (name) => {
      using track = new DelayTracks({ key: alice.id, context: { user: alice } });
      await track.run();
      seen.push(`${name}=${track.name}`);
    });
    print(`forEachTrack runs a test body under every track: ${seen.join(', ')}`);
  }
  {
    const names = new Set(Array.from({ length: 50 }, () => new DelayTracks({ context: { user: alice } }).name));
    print(`without a key every run draws afresh: ${[...names].sort().join(', ')}`);
  }
}
