using System.Globalization;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;
using ModelZoo.Core.Training;
using ModelZoo.Torch.Pipeline;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Training.Strategies;

/// <summary>
/// Meta-learned few-shot: episodic training of a prototypical network (Snell et al. 2017) on the base classes, scored
/// on novel classes in N-way episodes (<see cref="FewShotEpisodes"/>) against plain prototypes of the pretrained
/// backbone on the same episodes.
/// <para>The loop stays the shared one: <see cref="Streams"/> gives it one stream whose source
/// (<see cref="EpisodeSource"/>) yields one episode per batch, <see cref="PrototypicalEpisodesOptions.EpisodesPerEpoch"/>
/// of them an epoch (<see cref="BatchStream.BatchesPerEpoch"/>). An episode's batch holds its N·K support images
/// (class by class) then its N·Q queries; its labels are the queries' episode classes and -1 for the support, so the
/// loop's training accuracy is the queries' accuracy. Episodes are drawn from (seed, epoch, step) alone, so a resumed
/// run replays them.</para>
/// <para>Evaluation (validation each epoch and the test): nearest prototype over all the dataset's classes, each
/// prototype from K training examples of its class (<see cref="FewShotPrototypesStrategy.DrawSupport"/>), embedded
/// with the current weights. The novel-class episodes are scored after every epoch (named values, so the run page
/// charts them) and in <see cref="Finish"/>, with the plain baseline measured once in <see cref="Setup"/>, before any
/// step changes the weights.</para>
/// </summary>
public sealed class PrototypicalEpisodesStrategy : TrainingStrategy<PrototypicalEpisodesOptions>
{
    /// <summary>Salts of the seeded draws: class split, training episodes, evaluation episodes.</summary>
    const long SplitSalt = 0x40E1C1A5, EpisodeSalt = 0xE915_0DE5, TestSalt = 0x7E57_E915;

    int[] _novel = [], _base = [];
    int[] _basePool = [];
    Dictionary<int, int[]> _baseByClass = [];
    IReadOnlyList<int> _labels = [];
    readonly Dictionary<int, EpisodeReport> _plain = [], _episodic = [];
    readonly HashSet<int> _classesTrainedOn = [];
    int _episodesTrained;
    int[][] _support = [];
    Tensor? _prototypes;
    bool _stale = true;

    /// <summary>The held-out classes, ascending.</summary>
    public IReadOnlyList<int> Novel => _novel;

    /// <summary>
    /// <paramref name="count"/> of <paramref name="classes"/> classes, drawn with <paramref name="seed"/> alone (a seeded
    /// shuffle of 0..classes-1, its first <paramref name="count"/>), ascending.
    /// </summary>
    public static int[] NovelClasses(int classes, int count, int seed)
    {
        if (count < 1 || count >= classes)
            throw new ArgumentOutOfRangeException(nameof(count), count, $"Novel classes must be from 1 to {classes - 1}: the dataset has {classes} classes.");
        var order = Enumerable.Range(0, classes).ToArray();
        new Random(TrainingSelection.Seed(seed, SplitSalt)).Shuffle(order);
        var novel = order[..count];
        Array.Sort(novel);
        return novel;
    }

    /// <summary>
    /// The training episode of (<paramref name="seed"/>, <paramref name="epoch"/>, <paramref name="step"/>, 0-based):
    /// <paramref name="ways"/> of the base classes, then <paramref name="shots"/> + <paramref name="queries"/> distinct
    /// examples of each from its list in <paramref name="baseByClass"/>. Depends on nothing else, so a resumed run
    /// draws what the uninterrupted run drew.
    /// </summary>
    public static Episode TrainingEpisode(IReadOnlyDictionary<int, int[]> baseByClass, int ways, int shots, int queries, int seed, int epoch, int step)
    {
        var rng = new Random(TrainingSelection.Seed(seed, epoch, step, EpisodeSalt));
        var classes = Draw(rng, baseByClass.Keys.Order().ToArray(), ways);
        var support = new int[ways][];
        var query = new int[ways][];
        for (int j = 0; j < ways; j++)
        {
            var examples = Draw(rng, baseByClass[classes[j]], shots + queries);
            support[j] = examples[..shots];
            query[j] = examples[shots..];
        }
        return new Episode(classes, support, query);
    }

    /// <summary>The evaluation's settings for <paramref name="shots"/>: the same episodes before and after training.</summary>
    EpisodeSpec TestSpec(RunContext run, int shots) =>
        // One step of the linear head: the episode evaluator scores one too, and only its prototypes are reported here.
        new(Options.Ways, shots, Options.Queries, Options.TestEpisodes, TrainingSelection.Seed(run.Training.Seed, TestSalt), LinearSteps: 1);

    /// <summary>1 and K, once each.</summary>
    int[] EvaluatedShots => Options.Shots == 1 ? [1] : [1, Options.Shots];

    public override void Setup(RunContext run)
    {
        if (run.Job.Data.Images is null)
            throw new NotSupportedException("Prototypical episodes train on images only.");
        _labels = run.Job.Data.Images!.Labels;
        var o = Options;
        _novel = NovelClasses(run.Classes, o.NovelClasses, run.Training.Seed);
        var novel = _novel.ToHashSet();
        _base = Enumerable.Range(0, run.Classes).Where(c => !novel.Contains(c)).ToArray();
        if (o.Ways > _base.Length || o.Ways > _novel.Length)
            throw new InvalidOperationException($"Ways must be at most {Math.Min(_base.Length, _novel.Length)}: the run has {_base.Length} base and {_novel.Length} novel classes.");

        // Only base-class examples ever reach a training step: the pool holds nothing else.
        _basePool = run.TrainIndices.Where(i => _labels[i] >= 0 && !novel.Contains(_labels[i])).Order().ToArray();
        _baseByClass = _base.ToDictionary(c => c, c => _basePool.Where(i => _labels[i] == c).ToArray());
        var need = o.Shots + o.Queries;
        var (smallBase, baseCount) = _baseByClass.Select(kv => (kv.Key, kv.Value.Length)).MinBy(x => x.Length);
        if (baseCount < need)
            throw new InvalidOperationException(
                $"Shots plus queries must be at most {baseCount}: base class '{run.ClassNames[smallBase]}' has {baseCount} training examples in this run " +
                $"(after its label budget and training limit), and a training episode takes {o.Shots} + {o.Queries}.");
        var (smallNovel, novelCount) = _novel.Select(c => (c, run.TestIndices.Count(i => _labels[i] == c))).MinBy(x => x.Item2);
        if (novelCount < need)
            throw new InvalidOperationException(
                $"Shots plus queries must be at most {novelCount}: novel class '{run.ClassNames[smallNovel]}' has {novelCount} test examples, " +
                $"and an evaluation episode takes {o.Shots} + {o.Queries}.");

        // The standard evaluation's support: K training examples of every class, base and novel.
        _support = FewShotPrototypesStrategy.DrawSupport(run.TrainIndices, _labels, run.ClassNames, o.Shots, run.Training.Seed);

        // Plain prototypes: the pretrained backbone before any step, on the episodes the trained one will see.
        run.Report("Scoring the novel classes' episodes with the pretrained backbone (plain prototypes).");
        foreach (var shots in EvaluatedShots)
            _plain[shots] = FewShotEpisodes.Run(run.Model, run.Data, run.TestIndices, _labels, _novel, TestSpec(run, shots), run.Device, run.Cancellation);
    }

    /// <summary>The backbone learns; the classifier is not used (prototypes take its place), so it stays as reset.</summary>
    public override IReadOnlyList<ParameterGroupSpec> ParameterGroups(RunContext run)
    {
        foreach (var p in run.Model.ClassifierParameters()) p.requires_grad = false;
        var backbone = run.Model.BackboneParameters().ToList();
        foreach (var p in backbone) p.requires_grad = true;
        return [new ParameterGroupSpec("backbone", backbone, Options.BackboneRateScale)];
    }

    public override ModelSelection Selection => ModelSelection.LastEpoch;

    public override IReadOnlyList<BatchStream> Streams(RunContext run) =>
        [new BatchStream("episodes", new EpisodeSource(this, run), _basePool, run.Training.Augment) { BatchesPerEpoch = Options.EpisodesPerEpoch }];

    public override StepResult Step(RunContext run, StepInput input)
    {
        var (ways, shots, queries) = (Options.Ways, Options.Shots, Options.Queries);
        _stale = true;
        var device = input.Batch.X.device;
        var embeddings = run.Model.ForwardHead(run.Model.ForwardFeatures(input.Batch.X), preLogits: true);
        var support = embeddings.narrow(0, 0, ways * shots);
        var query = embeddings.narrow(0, ways * shots, ways * queries);
        var supportY = arange(ways, dtype: ScalarType.Int64, device: device).repeat_interleave(shots);
        var queryY = arange(ways, dtype: ScalarType.Int64, device: device).repeat_interleave(queries);
        var prototypes = Prototypes.Of(support, supportY, ways);
        var logits = Prototypes.Logits(query, prototypes, Options.LogitScale);
        var loss = nn.functional.cross_entropy(logits, queryY, label_smoothing: run.Training.LabelSmoothing);
        var accuracy = logits.argmax(1).eq(queryY).to(ScalarType.Float64).mean().item<double>();
        // Support rows carry label -1 in the batch, so the loop counts only the queries; their logits are placeholders.
        var all = cat([zeros(ways * shots, ways, device: device), logits.detach()], 0);
        return new StepResult(loss, all, new Dictionary<string, double> { ["episode_acc"] = accuracy });
    }

    public override Tensor Predict(RunContext run, TrainingBatch batch)
    {
        if (_stale || _prototypes is null) RefreshPrototypes(run);
        using var scope = NewDisposeScope();
        var embeddings = run.Model.ForwardHead(run.Model.ForwardFeatures(batch.X), preLogits: true);
        return Prototypes.Logits(embeddings, _prototypes!, Options.LogitScale).MoveToOuterDisposeScope();
    }

    /// <summary>Every class's prototype from its K training examples, embedded with the weights as they are now.</summary>
    void RefreshPrototypes(RunContext run)
    {
        var indices = _support.SelectMany(s => s).ToArray();
        using var table = FewShotEpisodes.Embed(run.Model, run.Data, indices, run.Device, run.Cancellation);
        using var scope = NewDisposeScope();
        var rows = tensor(indices.Select(i => (long)table.Rows[i]).ToArray(), device: CPU).to(table.Features.device);
        var y = tensor(indices.Select(i => (long)_labels[i]).ToArray(), device: CPU).to(table.Features.device);
        _prototypes?.Dispose();
        // Detached from every scope: this runs inside the evaluator's per-batch scope, and the prototypes outlive it.
        _prototypes = Prototypes.Of(table.Features.index_select(0, rows), y, run.Classes).to(run.Device).DetachFromDisposeScope();
        _stale = false;
    }

    /// <summary>The novel classes' episodes with the epoch's weights, beside the plain baseline: cheap (each novel test
    /// image is embedded once), and the run page charts them. Reported, never used to choose weights.</summary>
    public override IReadOnlyDictionary<string, double> EpochValues(RunContext run, int epoch)
    {
        ScoreEpisodes(run);
        return EpisodeValues();
    }

    public override void Finish(RunContext run)
    {
        ScoreEpisodes(run);
        run.Model.eval();
    }

    void ScoreEpisodes(RunContext run)
    {
        foreach (var shots in EvaluatedShots)
        {
            _episodic[shots] = FewShotEpisodes.Run(run.Model, run.Data, run.TestIndices, _labels, _novel, TestSpec(run, shots), run.Device, run.Cancellation);
        }
    }

    /// <summary>novel_1shot / plain_1shot (and _kshot for K above 1): accuracies and 95 % half-widths, as shares.</summary>
    public IReadOnlyDictionary<string, double> EpisodeValues()
    {
        var values = new Dictionary<string, double>();
        foreach (var shots in EvaluatedShots)
        {
            var key = shots == 1 ? "1shot" : "kshot";
            if (_episodic.TryGetValue(shots, out var e)) { values[$"novel_{key}_acc"] = e.Prototype.Mean; values[$"novel_{key}_ci95"] = e.Prototype.HalfWidth; }
            if (_plain.TryGetValue(shots, out var p)) { values[$"plain_{key}_acc"] = p.Prototype.Mean; values[$"plain_{key}_ci95"] = p.Prototype.HalfWidth; }
            if (Gain(shots) is { } g) { values[$"gain_{key}"] = g.Mean; values[$"gain_{key}_ci95"] = g.HalfWidth; }
        }
        return values;
    }

    /// <summary>Episodic minus plain accuracy, episode by episode, with its 95 % interval: both score the same
    /// episodes, so the paired interval is what says whether the training changed anything (the two separate intervals
    /// mostly measure how hard the episodes are, which both share).</summary>
    public MeanInterval? Gain(int shots) =>
        _plain.TryGetValue(shots, out var p) && _episodic.TryGetValue(shots, out var e)
            ? FewShotEpisodes.Interval(e.PrototypeAccuracies.Zip(p.PrototypeAccuracies, (a, b) => a - b).ToList()) : null;

    /// <summary>The base classes' training examples: what the episodes drew from.</summary>
    public override int[] ExamplesLearntFrom(RunContext run) => _basePool;

    public override IEnumerable<StrategyFact> Facts(RunContext run)
    {
        if (_novel.Length == 0) yield break;
        var o = Options;
        string Names(IEnumerable<int> classes) => string.Join(", ", classes.Select(c => $"'{run.ClassNames[c]}'"));
        yield return new("Class split", $"{_novel.Length} novel classes, drawn with seed {run.Training.Seed} and never in a training episode: {Names(_novel)}; " +
                                         $"{_base.Length} base classes train ({_basePool.Length:N0} training examples)");
        yield return new("Episodes", string.Create(CultureInfo.InvariantCulture,
            $"{o.Ways}-way {o.Shots}-shot with {o.Queries} queries per class, {o.EpisodesPerEpoch} per epoch; loss: cross-entropy of the queries over " +
            $"{o.LogitScale:G4} × cosine similarity to the support prototypes (re-normalised means of unit pre-logit embeddings); the backbone " +
            $"learns at {o.BackboneRateScale:G4} × the run's rate, the classifier is not used"));
        var seen = _classesTrainedOn.Order().ToList();
        yield return new("Training episodes", seen.Count == 0 ? "none in this process (resumed after the last epoch)" :
            $"{_episodesTrained:N0} episodes in this process drew from {seen.Count} classes, all base " +
            $"({(seen.Any(_novel.Contains) ? "NOVEL CLASS SEEN" : "no novel class")})");
        foreach (var shots in EvaluatedShots)
            if (_plain.TryGetValue(shots, out var plain) && _episodic.TryGetValue(shots, out var trained))
                yield return new($"Novel classes, {o.Ways}-way {shots}-shot", string.Create(CultureInfo.InvariantCulture,
                    $"episodic {trained.Prototype}; plain prototypes of the pretrained backbone on the same {plain.Episodes.Count} episodes " +
                    $"{plain.Prototype}; difference {Gain(shots)!.Mean * 100:+0.00;-0.00;0.00} ± {Gain(shots)!.HalfWidth * 100:0.00} points (paired, same episodes) " +
                    $"({o.Queries} queries per class from the test split)"));
        yield return new("Test accuracy", $"nearest prototype over all {run.Classes} classes, each prototype from {o.Shots} training examples of its class " +
                                          "(base and novel alike), embedded with the last epoch's weights");
    }

    public override void Dispose()
    {
        _prototypes?.Dispose();
        base.Dispose();
    }

    static int[] Draw(Random rng, IReadOnlyList<int> items, int count) => FewShotEpisodes.Draw(rng, items, count);

    /// <summary>An epoch's episodes as batches of the run's own images (augmented as the run says): the loop's order and
    /// batch size do not apply. Each episode is checked against the class split as it is loaded.</summary>
    sealed class EpisodeSource(PrototypicalEpisodesStrategy owner, RunContext run) : IBatchSource
    {
        public string Fingerprint => run.Data.Fingerprint;

        public Prefetcher<TrainingBatch> Train(int[] order, int batchSize, int epoch, int seed, bool augment, CancellationToken ct)
        {
            var o = owner.Options;
            var episodes = Enumerable.Range(0, o.EpisodesPerEpoch)
                .Select(s => TrainingEpisode(owner._baseByClass, o.Ways, o.Shots, o.Queries, seed, epoch, s)).ToArray();
            var size = o.Ways * (o.Shots + o.Queries);
            var flat = episodes.SelectMany(e => e.Support.SelectMany(x => x).Concat(e.Query.SelectMany(x => x))).ToArray();
            var labels = Enumerable.Repeat(-1L, o.Ways * o.Shots)
                .Concat(Enumerable.Range(0, o.Ways).SelectMany(j => Enumerable.Repeat((long)j, o.Queries))).ToArray();
            var inner = run.Data.Train(flat, size, epoch, seed, augment, ct);
            return new Prefetcher<TrainingBatch>(inner.Count, (k, _) =>
            {
                var batch = inner.Next();
                foreach (var i in flat.AsSpan(k * size, size))
                {
                    var label = owner._labels[i];
                    // The pool holds base classes only; this guards the claim the card makes, on what was loaded.
                    if (Array.BinarySearch(owner._novel, label) >= 0)
                        throw new InvalidOperationException($"Training episode {k} of epoch {epoch} holds example {i} of novel class '{run.ClassNames[label]}'.");
                    owner._classesTrainedOn.Add(label);
                }
                owner._episodesTrained++;
                var relabelled = new TrainingBatch(batch.X, tensor(labels).to(batch.Y.device));
                batch.Y.Dispose();
                return relabelled;
            }, workers: 0, depth: 1, ct, owned: inner);
        }

        public Prefetcher<TrainingBatch> Eval(int[] indices, int batchSize, CancellationToken ct) => run.Data.Eval(indices, batchSize, ct);

        /// <summary>The run's source belongs to the run.</summary>
        public void Dispose() { }
    }
}
