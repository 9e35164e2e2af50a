using ModelZoo.Core.Catalog;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Runs.Plan;
using ModelZoo.Core.Strategies;
using ModelZoo.Core.Training;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Native;
using ModelZoo.Torch.Pipeline;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Training.Plan;

/// <summary>A valid request with what the planner needs to build its model: the entry, the shape the catalogue
/// builds it in, the dataset's facts, and whether the entry's weights are on this machine.</summary>
public sealed record PlanRequest(RunRequest Request, ModelManifest Model, ArchitectureOptions ModelOptions, DatasetInfo Dataset, bool HasWeights)
{
    /// <summary>The further task datasets (multitask, continual): their classes shape their heads.</summary>
    public IReadOnlyList<DatasetInfo> Tasks { get; init; } = [];
}

/// <summary>
/// The trainable map of a run before it launches, from the code that trains it: the model is the registry's real
/// module, built on the meta device (shapes only: no memory, no random draws) in the shape a run builds it, with its
/// head reset to the dataset's classes; the strategy is the registered class with the run's options. As in
/// <see cref="Trainer"/>, the strategy sets up (in plan mode, <see cref="RunContext.Planning"/>: no data passes),
/// gives its parameter groups, and begins epoch 1; the map reads what that left: which parameters need a gradient and
/// sit in a group, each group's rate scale, and each module's train/eval flag. Later epochs are begun the same way to
/// find where the frozen set changes (gradual unfreezing).
/// </summary>
public sealed class TrainingPlanner(ArchitectureRegistry registry, StrategyRegistry strategies)
{
    /// <exception cref="ArgumentException">Options the strategy refuses (a valid request has none).</exception>
    /// <exception cref="InvalidOperationException">A strategy that cannot plan (see <see cref="PlanDataSource"/>).</exception>
    public TrainingMap Map(PlanRequest plan)
    {
        var request = plan.Request;
        var description = strategies.Find(request.Strategy)
            ?? throw new ArgumentException($"Strategy '{request.Strategy}' is not registered.");
        var (options, problems) = StrategyOptionsReader.Read(description, request.Options);
        if (options is null) throw new ArgumentException(string.Join(" ", problems.Select(p => p.Message)));
        var classes = plan.Dataset.ClassNames.Count;
        // As PreparedRun builds it: an entry without a classifier trains the classifier sharing its backbone.
        var architecture = registry.ForFineTuning(plan.Model.Architecture);
        var archOptions = plan.ModelOptions;
        if (architecture.Name != plan.Model.Architecture) archOptions = archOptions with { NumClasses = classes };
        using var model = TorchRuntime.OnMeta(() =>
        {
            var m = registry.Create(architecture.Name, archOptions);
            try { m.ResetClassifier(classes); }
            catch { m.Dispose(); throw; }
            return m;
        });
        using var strategy = strategies.Create(description, options);
        var data = new PlanDataSource(description.Id);
        var run = new RunContext
        {
            Planning = true,
            Job = new TrainingJob(Guid.Empty, request, plan.Model, new LoadedDataset(plan.Dataset, null, new SplitIndices(0, [], [], [])), null, ""),
            Model = model, Architecture = architecture, Device = META, Progress = new NoProgress(), Cancellation = CancellationToken.None,
            PipelineOptions = new PipelineOptions(), Data = data, TrainIndices = [], ValidationIndices = [], TestIndices = [],
            ClassNames = plan.Dataset.ClassNames,
            Target = string.IsNullOrWhiteSpace(request.TargetDatasetId) ? null : new TargetData(data, [], [], []),
            Tasks = plan.Tasks.Prepend(plan.Dataset).Select(d => new TaskData(d.Id, data, [], [], [], d.ClassNames, [])).ToList(),
            Registry = registry,
            BuildOptions = archOptions,
        };
        return Read(run, strategy, plan.HasWeights && strategy.LoadsPretrainedWeights);
    }

    static TrainingMap Read(RunContext run, TrainingStrategy strategy, bool pretrained)
    {
        var model = run.Model;
        // Set-up may build modules (DANN's domain classifier): on the meta device as well. What follows only reads
        // shapes and sets flags, with the CPU as the default again.
        var groups = TorchRuntime.OnMeta(() =>
        {
            strategy.Setup(run);
            return strategy.ParameterGroups(run);
        });
        var training = groups.Count > 0;
        // Only the loop's epochs call BeginEpoch; a strategy without gradient steps stays as its Setup left it.
        if (training) strategy.BeginEpoch(run, 1);

        var scaleOf = new Dictionary<IntPtr, double>();
        foreach (var g in groups)
            foreach (var p in g.Parameters) scaleOf.TryAdd(p.Handle, g.LearningRateScale);
        var baseRate = run.Training.LearningRate;
        var stages = model.ParameterGroups();
        var inModel = new HashSet<IntPtr>(model.parameters().Select(p => p.Handle));
        var rows = new List<MapRow>();
        for (int i = 0; i < stages.Count; i++)
        {
            var stage = stages[i];
            var parameters = stage.Parameters.Select(p => p.Parameter).ToList();
            var modules = Descendants(model.StageModules(stage.Name));
            rows.Add(Row(stage.Name, extra: false, pretrained && i < stages.Count - 1, parameters, modules, scaleOf, baseRate));
        }
        // Groups outside the model: modules the strategy adds (a domain classifier), new and trained with the model.
        foreach (var g in groups.Where(g => g.Parameters.Count > 0 && g.Parameters.All(p => !inModel.Contains(p.Handle))))
        {
            var handles = g.Parameters.Select(p => p.Handle).ToHashSet();
            var owners = strategy.ExtraModules.Where(e => e.Module.parameters().Any(p => handles.Contains(p.Handle))).Select(e => e.Module).ToList();
            rows.Add(Row(g.Name, extra: true, pretrained: false, g.Parameters.ToList(), Descendants(owners), scaleOf, baseRate));
        }
        var schedule = training ? Schedule(run, strategy, scaleOf) : [];
        return new TrainingMap(run.Architecture.Name, training, baseRate, rows, schedule);
    }

    static MapRow Row(string name, bool extra, bool pretrained, IReadOnlyList<TorchSharp.Modules.Parameter> parameters,
        IReadOnlyList<nn.Module> modules, Dictionary<IntPtr, double> scaleOf, double baseRate)
    {
        var total = parameters.Sum(p => p.numel());
        var trained = parameters.Where(p => p.requires_grad && scaleOf.ContainsKey(p.Handle)).ToList();
        double? scale = trained.Count > 0 ? trained.Max(p => scaleOf[p.Handle]) : null;
        var batchNorms = modules.Where(m => m is TorchSharp.Modules.BatchNorm).ToList();
        return new MapRow(name, extra, pretrained, total, trained.Sum(p => p.numel()), scale, scale * baseRate,
            ModeOf(modules) ?? ModuleMode.Eval, ModeOf(batchNorms));
    }

    /// <summary>Epoch by epoch, the stages the strategy leaves without a trained parameter; spans of equal sets. Empty
    /// when every epoch is epoch 1. Beginning an epoch on the meta device only sets flags, so a 500-epoch plan costs
    /// milliseconds.</summary>
    static IReadOnlyList<FrozenSpan> Schedule(RunContext run, TrainingStrategy strategy, Dictionary<IntPtr, double> scaleOf)
    {
        var model = run.Model;
        var stages = model.ParameterGroups();
        IReadOnlyList<string> FrozenNow() => stages
            .Where(s => s.Parameters.Count > 0 && !s.Parameters.Any(p => p.Parameter.requires_grad && scaleOf.ContainsKey(p.Parameter.Handle)))
            .Select(s => s.Name).ToList();
        var spans = new List<FrozenSpan> { new(1, 1, FrozenNow()) };
        for (int e = 2; e <= run.Training.Epochs; e++)
        {
            strategy.BeginEpoch(run, e);
            var frozen = FrozenNow();
            if (spans[^1].Frozen.SequenceEqual(frozen)) spans[^1] = spans[^1] with { To = e };
            else spans.Add(new FrozenSpan(e, e, frozen));
        }
        strategy.BeginEpoch(run, 1);
        return spans.Count > 1 ? spans : [];
    }

    static IReadOnlyList<nn.Module> Descendants(IEnumerable<nn.Module> roots)
    {
        var seen = new HashSet<nn.Module>(ReferenceEqualityComparer.Instance);
        foreach (var r in roots)
        {
            seen.Add(r);
            foreach (var m in r.modules()) seen.Add(m);
        }
        return seen.ToList();
    }

    static ModuleMode? ModeOf(IReadOnlyList<nn.Module> modules)
    {
        if (modules.Count == 0) return null;
        var on = modules.Count(m => m.training);
        return on == modules.Count ? ModuleMode.Train : on == 0 ? ModuleMode.Eval : ModuleMode.Mixed;
    }

    sealed class NoProgress : IRunProgress
    {
        public void Status(StatusChange status) { }
        public void Step(StepProgress step) { }
        public void Epoch(EpochMetrics epoch) { }
    }
}
