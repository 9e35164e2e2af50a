using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;
using ModelZoo.Core.Training;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Native;
using ModelZoo.Torch.Pipeline;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Training;

/// <summary>
/// A run made ready as the loop needs it, up to the strategy's <c>Setup</c> (not called): the strategy with its read
/// options, the model (seeded, from the entry's weights unless the strategy starts from scratch, its classifier reset
/// to the dataset's classes), the selected training examples and the batch sources. One construction for the
/// <see cref="Trainer"/> and for the benchmarks that time its parts, so a benchmark measures the run the portal trains.
/// Disposing releases what it made in reverse order (the strategy, which may hold a feature table, last).
/// </summary>
public sealed class PreparedRun : IDisposable
{
    public required RunContext Run { get; init; }
    public required TrainingStrategy Strategy { get; init; }
    public required IReadOnlyList<string> WeightsNotes { get; init; }
    public required int[] TrainExamplesPerClass { get; init; }
    /// <summary>A text model's config.json as read before the build (saved with its trained weights).</summary>
    public required string? ConfigJson { get; init; }
    readonly List<IDisposable> _owned = [];

    PreparedRun() { }

    public static PreparedRun Prepare(TrainingJob job, IRunProgress progress, CancellationToken ct, ArchitectureRegistry registry,
        IWeightsInitializer? weights, PipelineOptions pipelineOptions, StrategyRegistry strategies)
    {
        var h = job.Request.HyperParameters;
        var data = job.Data;
        var device = TorchRuntime.Device;
        var classes = data.Info.ClassNames.Count;
        var description = strategies.Find(job.Request.Strategy)
            ?? throw new NotSupportedException($"Strategy '{job.Request.Strategy}' is not registered. Known: {string.Join(", ", strategies.All.Select(s => s.Id))}.");
        var (options, problems) = StrategyOptionsReader.Read(description, job.Request.Options);
        if (options is null) throw new ArgumentException(string.Join(" ", problems.Select(p => p.Message)));

        var owned = new List<IDisposable>();
        try
        {
            var strategy = strategies.Create(description, options);
            owned.Add(strategy);
            // An entry without a classifier (a masked LM, a bare encoder) is fine-tuned as the classifier sharing its backbone.
            var architecture = registry.ForFineTuning(job.Model.Architecture);
            // A text model's config.json decides its sizes; read it before the seeded build so a bad file fails early.
            var configJson = job.Text?.ConfigPath is { } configPath ? File.ReadAllText(configPath) : null;
            IReadOnlyList<string> weightsNotes = [];
            var archOptions = ArchitectureOptions.Of(job.Model) with { ConfigJson = configJson };
            // The entry's head size is its own (a masked LM's is its vocabulary); the classifier trained in its place gets
            // the dataset's classes from the start, so the import says "model 2", not "model 8000".
            if (architecture.Name != job.Model.Architecture) archOptions = archOptions with { NumClasses = classes };
            // Seed, build and reset the head as one step, so the same seed always gives the same starting weights.
            var model = TorchRuntime.BuildSeeded(h.Seed, () =>
            {
                var m = registry.Create(architecture.Name, archOptions);
                try
                {
                    if (strategy.LoadsPretrainedWeights) weightsNotes = weights?.Initialise(m, job) ?? [];
                    m.ResetClassifier(classes);
                }
                catch { m.Dispose(); throw; }
                return m;
            });
            owned.Add(model);
            model.to(device);

            var labels = data.Images?.Labels ?? data.Texts?.Labels ?? throw new InvalidOperationException($"Dataset '{data.Info.Id}' holds no examples.");
            var trainIdx = TrainingSelection.Select(data.Split.Train, labels, h.LabelsPerClass, h.TrainLimit, h.Seed);
            var perClass = TrainingSelection.PerClass(trainIdx, labels, classes);
            var source = BatchSources.For(job, data, architecture.Modality, model, device, pipelineOptions, ct);
            owned.Add(source);
            var targetSource = job.Target is { } t ? BatchSources.For(job, t, architecture.Modality, model, device, pipelineOptions, ct) : null;
            if (targetSource is not null) owned.Add(targetSource);
            var tasks = new List<TaskData> { new(data.Info.Id, source, trainIdx, data.Split.Validation, data.Split.Test, data.Info.ClassNames, labels) };
            foreach (var task in job.Tasks)
            {
                var taskSource = BatchSources.For(job, task, architecture.Modality, model, device, pipelineOptions, ct);
                owned.Add(taskSource);
                var taskLabels = task.Images?.Labels ?? task.Texts?.Labels ?? throw new InvalidOperationException($"Dataset '{task.Info.Id}' holds no examples.");
                tasks.Add(new TaskData(task.Info.Id, taskSource, TrainingSelection.Select(task.Split.Train, taskLabels, h.LabelsPerClass, h.TrainLimit, h.Seed),
                    task.Split.Validation, task.Split.Test, task.Info.ClassNames, taskLabels));
            }
            var classWeights = h.ClassBalance == ClassBalance.WeightedLoss
                ? tensor(TrainingSelection.BalancedWeights(perClass), device: CPU).to(device) : null;
            if (classWeights is not null) owned.Add(classWeights);
            var run = new RunContext
            {
                Job = job, Model = model, Architecture = architecture, Device = device, Progress = progress, Cancellation = ct,
                PipelineOptions = pipelineOptions, Registry = registry, BuildOptions = archOptions, Data = source, TrainIndices = trainIdx,
                UnlabelledIndices = data.Split.Train.Except(trainIdx).Order().ToArray(),
                ValidationIndices = data.Split.Validation, TestIndices = data.Split.Test, ClassNames = data.Info.ClassNames,
                Target = job.Target is { } target && targetSource is not null
                    ? new TargetData(targetSource, target.Split.Train, target.Split.Validation, target.Split.Test) : null,
                ClassWeights = classWeights,
                Tasks = tasks,
            };
            var prepared = new PreparedRun { Run = run, Strategy = strategy, WeightsNotes = weightsNotes, TrainExamplesPerClass = perClass, ConfigJson = configJson };
            prepared._owned.AddRange(owned);
            return prepared;
        }
        catch
        {
            foreach (var d in Enumerable.Reverse(owned)) d.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var d in Enumerable.Reverse(_owned)) d.Dispose();
        _owned.Clear();
    }
}
