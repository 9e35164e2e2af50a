using System.Diagnostics;
using ModelZoo.Core.Datasets;
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
/// The shared training loop, the same for every strategy. It builds the model (seeded, from the entry's weights
/// unless the strategy starts from scratch), selects the run's examples (training limit, label budget), lets the
/// strategy set itself up, and then owns the epochs: the learning-rate schedule, steps over the strategy's batch
/// streams, gradient clipping, validation, model selection and early stopping, a checkpoint after every epoch and
/// resume from it, cancellation within one step, and every event. At the end the selected weights are evaluated on
/// the test split (accuracy, macro-F1, per-class scores, confusion, calibration) and saved.
/// </summary>
public sealed class Trainer(ArchitectureRegistry registry, IWeightsInitializer? weights = null, PipelineOptions? pipelineOptions = null,
    StrategyRegistry? strategies = null) : IRunTrainer
{
    readonly PipelineOptions _pipelineOptions = pipelineOptions ?? new();
    readonly StrategyRegistry _strategies = strategies ?? StrategyRegistry.Default;

    public string Device => TorchRuntime.DeviceDescription;

    public TrainingOutcome Train(TrainingJob job, IRunProgress progress, CancellationToken ct) => Train(job, progress, ct, trained: null);

    /// <param name="trained">Sees the trained model (eval mode, after the test evaluation and after the job's
    /// weights file, if it names one, is saved) before it is disposed: pretraining saves its fp16 weights there, so it
    /// shares this loop rather than keeping a second one.</param>
    public TrainingOutcome Train(TrainingJob job, IRunProgress progress, CancellationToken ct, Action<ZooModel>? trained)
    {
        var data = job.Data;
        using var prepared = PreparedRun.Prepare(job, progress, ct, registry, weights, _pipelineOptions, _strategies);
        var (run, strategy, model, architecture) = (prepared.Run, prepared.Strategy, prepared.Run.Model, prepared.Run.Architecture);
        var weightsNotes = prepared.WeightsNotes;
        if (weightsNotes.Count > 0) progress.Status(new StatusChange(RunStatus.Running, "Training; weights: " + string.Join("; ", weightsNotes), Device));

        var total = Stopwatch.StartNew();
        strategy.Setup(run);
        var groups = strategy.ParameterGroups(run);
        var outcome = groups.Count == 0 ? LoopOutcome.Untrained : TrainEpochs(run, strategy, groups);
        var loop = outcome.State;
        strategy.Finish(run);
        ct.ThrowIfCancellationRequested();
        // A strategy without gradient steps has no epochs to validate in; it is validated once, as it stands, so its
        // run reports a validation accuracy like any other.
        if (groups.Count == 0)
            loop = loop with { BestValidationAccuracy = Evaluator.Run(run, strategy, strategy.Evaluation(run, DatasetSplit.Validation)).Accuracy };

        var test = Evaluator.Run(run, strategy, strategy.Evaluation(run, DatasetSplit.Test));
        var confusion = test.Confusion.Select(r => (IReadOnlyList<int>)r).ToList();
        var scores = ClassificationMetrics.PerClass(data.Info.ClassNames, confusion);
        var learntFrom = strategy.ExamplesLearntFrom(run);
        var labels = data.Images?.Labels ?? data.Texts!.Labels;
        var result = new RunResult
        {
            TestAccuracy = test.Accuracy,
            TestLoss = test.Loss,
            BestValAccuracy = Math.Max(0, loop.BestValidationAccuracy),
            BestEpoch = loop.BestEpoch,
            TestExamples = test.Examples,
            TrainExamples = learntFrom.Length,
            ValExamples = strategy.Evaluation(run, DatasetSplit.Validation).Indices.Length,
            ClassNames = data.Info.ClassNames,
            PerClassAccuracy = scores.Select(s => s.Recall).ToList(),
            ConfusionMatrix = confusion,
            PerClass = scores,
            MacroF1 = ClassificationMetrics.MacroF1(scores),
            Calibration = test.Calibration,
            // This process's whole time (set-up, epochs, test) plus what earlier processes spent before a resume.
            TrainSeconds = outcome.SecondsBeforeResume + total.Elapsed.TotalSeconds,
            TotalParameters = model.ParameterCount(),
            TrainableParameters = outcome.TrainedParameters,
            TrainedArchitecture = architecture.Name,
            WeightsNotes = weightsNotes,
            Selection = groups.Count == 0 ? ModelSelection.NoTraining : strategy.Selection,
            StoppedAtEpoch = loop.Stopped ? loop.Epoch : null,
            TrainExamplesPerClass = ReferenceEquals(learntFrom, run.TrainIndices)
                ? prepared.TrainExamplesPerClass : TrainingSelection.PerClass(learntFrom, labels, data.Info.ClassNames.Count),
            StrategyFacts = strategy.Facts(run).ToList(),
            ExamplesPerSecond = loop.StepSeconds > 0 ? loop.ExamplesTrained / loop.StepSeconds : 0,
            ResumedAfterEpochs = loop.ResumedAfterEpochs,
            Tasks = strategy.TaskResults(run),
            TaskMatrix = strategy.TaskMatrix(run),
            Teacher = strategy.TeacherResult(run),
            Values = strategy.ResultValues(run),
        };
        // Saved last, after the test evaluation: a cancelled or diverged run has thrown by now and leaves no file.
        if (job.WeightsFileName is not null)
            result = result with { TrainedWeights = TrainedWeightsWriter.Save(model, job, architecture.Name, prepared.ConfigJson, strategy.SavedModules) };
        trained?.Invoke(model);
        return new TrainingOutcome(result, TorchRuntime.DeviceDescription, TorchRuntime.Threads, TorchRuntime.SoftwareVersions);
    }

    /// <summary>What the epochs leave for the result: the loop's state as a checkpoint carries it between processes,
    /// the parameters the optimiser updated, and the training time recorded before this process resumed.</summary>
    sealed record LoopOutcome(CheckpointState State, long TrainedParameters, double SecondsBeforeResume)
    {
        public static readonly LoopOutcome Untrained = new(new CheckpointState(), 0, 0);
    }

    LoopOutcome TrainEpochs(RunContext run, TrainingStrategy strategy, IReadOnlyList<ParameterGroupSpec> groups)
    {
        var job = run.Job;
        var h = run.Training;
        var ct = run.Cancellation;
        var progress = run.Progress;
        using var optimization = Optimization.Create(h, groups);
        var modules = new List<(string, nn.Module)> { ("model", run.Model) };
        modules.AddRange(strategy.ExtraModules.Select(m => ($"extra.{m.Name}", m.Module)));
        var trainedParameters = optimization.Parameters.Distinct().Sum(p => p.numel());

        // Each epoch's streams (the same every epoch, unless the strategy trains tasks in turn) and its steps; the
        // schedule spans the sum, so a learning rate is a function of the global step whatever the epochs hold.
        int epochs = strategy.Epochs(run);
        var epochStreams = Enumerable.Range(1, epochs).Select(e => strategy.Streams(run, e)).ToArray();
        var stepsOf = new int[epochs + 1];
        for (int e = 1; e <= epochs; e++)
        {
            var s = epochStreams[e - 1];
            if (s.Count == 0) throw new InvalidOperationException("A training strategy needs at least one batch stream.");
            if (s[0].Indices.Length == 0) throw new InvalidOperationException("The run has no training examples to learn from.");
            var size = s[0].BatchSize ?? h.BatchSize;
            stepsOf[e] = s[0].BatchesPerEpoch ?? (s[0].Indices.Length + size - 1) / size;
        }
        int totalSteps = stepsOf.Sum();
        var best = new BestWeights(job.Checkpoint ? Path.Combine(job.OutputDir, CheckpointFiles.Best) : null);

        CheckpointState state;
        double secondsBeforeResume = 0;
        if (job.Resume)
        {
            var loaded = Checkpoints.Load(job.OutputDir, modules, optimization.Optimizer);
            secondsBeforeResume = loaded.ElapsedSeconds;
            state = loaded with { ResumedAfterEpochs = [.. loaded.ResumedAfterEpochs, loaded.Epoch] };
            run.Report($"Resumed from the checkpoint after epoch {state.Epoch} (step {state.GlobalStep} of {totalSteps}).");
        }
        else
        {
            state = new CheckpointState { RunId = job.RunId, Strategy = job.Request.Strategy };
            if (job.Checkpoint) SaveCheckpoint(state);
        }

        var throughput = new RateWindow(20);
        var watch = Stopwatch.StartNew();
        double elapsedAtStart = state.ElapsedSeconds;
        for (int epoch = state.Epoch + 1; epoch <= epochs && !state.Stopped; epoch++)
        {
            var epochWatch = Stopwatch.StartNew();
            // Dropout and other draws from libtorch's generator: seeded per epoch, so a resumed epoch draws the same.
            torch.random.manual_seed(TrainingSelection.Seed(h.Seed, epoch, 0xD80));
            strategy.BeginEpoch(run, epoch);
            var streams = epochStreams[epoch - 1];
            var primary = streams[0];
            var stepsPerEpoch = stepsOf[epoch];
            var primaryLabels = primary.Labels ?? run.Job.Data.Images?.Labels ?? run.Job.Data.Texts!.Labels;
            var order = h.ClassBalance == ClassBalance.WeightedSampler
                ? TrainingSelection.BalancedEpoch(primary.Indices, primaryLabels, h.Seed, epoch)
                : TrainingSelection.EpochOrder(primary.Indices, h.Seed, epoch);
            using var batches = primary.Source.Train(order, primary.BatchSize ?? h.BatchSize, epoch, h.Seed, primary.Augment, ct);
            var others = streams.Skip(1).Select((s, i) => new CyclingStream(s, h, epoch, i + 1, ct)).ToList();
            double lossSum = 0; long correct = 0, labelled = 0; int seen = 0;
            var globalStep = state.GlobalStep;
            double stepSeconds = 0;
            try
            {
                for (int s = 0; s < stepsPerEpoch; s++)
                {
                    ct.ThrowIfCancellationRequested();
                    var stepWatch = Stopwatch.StartNew();
                    using var scope = NewDisposeScope();
                    using var batch = batches.Next();
                    var extra = others.ToDictionary(o => o.Stream.Name, o => o.Next());
                    try
                    {
                        var factor = LearningRateSchedules.Factor(h.Schedule, h.WarmupFraction, globalStep, totalSteps);
                        optimization.SetRate(h.LearningRate, factor);
                        var input = new StepInput(batch, extra, epoch, globalStep + 1, totalSteps, (double)globalStep / totalSteps);
                        var step = strategy.Step(run, input);
                        var lossValue = step.Loss.item<float>();
                        if (!float.IsFinite(lossValue))
                            throw new TrainingDivergedException(
                                $"The loss became {(float.IsNaN(lossValue) ? "NaN" : "infinite")} at epoch {epoch}, step {s + 1}. " +
                                $"Lower the learning rate (it is {h.LearningRate:G4}) or check the data for invalid values.");
                        optimization.Optimizer.zero_grad();
                        step.Loss.backward();
                        strategy.BeforeOptimizerStep(run);
                        if (h.GradientClipNorm > 0)
                            nn.utils.clip_grad_norm_(optimization.Parameters.Where(p => p.grad is not null), h.GradientClipNorm);
                        optimization.Optimizer.step();
                        strategy.AfterOptimizerStep(run);

                        lossSum += lossValue * batch.Count;
                        seen += batch.Count;
                        if (step.Logits is { } logits)
                        {
                            var known = batch.Y.ge(0);
                            correct += logits.argmax(1).eq(batch.Y).logical_and(known).sum().item<long>();
                            labelled += known.sum().item<long>();
                        }
                        globalStep++;
                        var seconds = stepWatch.Elapsed.TotalSeconds;
                        stepSeconds += seconds;
                        throughput.Add(batch.Count, seconds);
                        var rate = throughput.Rate;
                        double? eta = rate > 0 ? (totalSteps - globalStep) * (double)(primary.BatchSize ?? h.BatchSize) / rate : null;
                        progress.Step(StepProgress.Of(epoch, s + 1, stepsPerEpoch, globalStep, totalSteps, lossValue, h.LearningRate * factor,
                            rate, eta, elapsedAtStart + watch.Elapsed.TotalSeconds, step.Values));
                    }
                    finally { foreach (var b in extra.Values) b.Dispose(); }
                }
            }
            finally { foreach (var o in others) o.Dispose(); }

            ct.ThrowIfCancellationRequested();
            var val = Evaluator.Run(run, strategy, strategy.Evaluation(run, DatasetSplit.Validation));
            var score = strategy.ValidationScore(run, epoch, val);
            progress.Epoch(EpochMetrics.Of(epoch, epochs, lossSum / Math.Max(1, seen), labelled == 0 ? double.NaN : (double)correct / labelled,
                val.Loss, val.Accuracy, epochWatch.Elapsed.TotalSeconds, strategy.EpochValues(run, epoch)));

            var improved = score > state.BestValidationAccuracy;
            if (improved && strategy.Selection == ModelSelection.BestValidation) best.Keep(run.Model);
            var noImprovement = improved ? 0 : state.EpochsWithoutImprovement + 1;
            state = state with
            {
                Epoch = epoch,
                GlobalStep = globalStep,
                BestValidationAccuracy = improved ? score : state.BestValidationAccuracy,
                BestEpoch = improved ? epoch : state.BestEpoch,
                EpochsWithoutImprovement = noImprovement,
                Stopped = h.EarlyStoppingPatience > 0 && noImprovement >= h.EarlyStoppingPatience && epoch < epochs,
                ElapsedSeconds = elapsedAtStart + watch.Elapsed.TotalSeconds,
                StepSeconds = state.StepSeconds + stepSeconds,
                ExamplesTrained = state.ExamplesTrained + seen,
            };
            if (job.Checkpoint) SaveCheckpoint(state);
            // The epoch's batches were made and freed on the pipeline's threads, whose glibc arenas keep the freed
            // blocks. Nothing leaks (malloc's bytes in use stay flat over 30 epochs), but resident memory grows with
            // the free blocks kept; handing their pages back each epoch costs milliseconds (docs/benchmarks.md, issue 11).
            NativeMemory.Trim();
        }

        // The weights the test split sees: the best validation epoch's (the file a resumed run kept, or the copy in memory).
        if (strategy.Selection == ModelSelection.BestValidation && state.BestEpoch > 0) best.Restore(run.Model);
        best.Dispose();
        return new LoopOutcome(state, trainedParameters, secondsBeforeResume);

        void SaveCheckpoint(CheckpointState s)
        {
            // Every event so far reaches the database before the checkpoint that a resume would start after.
            var seq = progress.Flush();
            Checkpoints.Save(job.OutputDir, s with { EventSeq = seq }, modules, optimization.Optimizer);
            progress.Checkpoint(new CheckpointInfo(s.Epoch, s.GlobalStep));
        }
    }

    /// <summary>A secondary stream's batches: reshuffled and restarted whenever it runs out within an epoch.</summary>
    sealed class CyclingStream(BatchStream stream, HyperParameters h, int epoch, int index, CancellationToken ct) : IDisposable
    {
        Prefetcher<TrainingBatch>? _current;
        int _cycle;
        public BatchStream Stream => stream;

        public TrainingBatch Next()
        {
            if (stream.Indices.Length == 0) throw new InvalidOperationException($"Stream '{stream.Name}' has no examples.");
            if (_current is null || _current.Taken >= _current.Count)
            {
                _current?.Dispose();
                var order = TrainingSelection.EpochOrder(stream.Indices, h.Seed, epoch, index * 1000 + _cycle++);
                _current = stream.Source.Train(order, stream.BatchSize ?? h.BatchSize, epoch * 1000 + _cycle, h.Seed ^ index, stream.Augment, ct);
            }
            return _current.Next();
        }

        public void Dispose() => _current?.Dispose();
    }

    /// <summary>The best validation epoch's weights: a file in the run's folder when it checkpoints (a resumed run
    /// needs it), else a copy in memory.</summary>
    sealed class BestWeights(string? path) : IDisposable
    {
        Dictionary<string, Tensor>? _copy;

        public void Keep(ZooModel model)
        {
            if (path is not null) { Checkpoints.SaveModel(path, model); return; }
            Dispose();
            using var _ = no_grad();
            _copy = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        }

        public void Restore(ZooModel model)
        {
            if (path is not null) { if (File.Exists(path)) Checkpoints.LoadModel(path, model); return; }
            if (_copy is null) return;
            using var _ = no_grad();
            foreach (var (key, target) in model.state_dict()) target.copy_(_copy[key]);
        }

        public void Dispose()
        {
            if (_copy is null) return;
            foreach (var t in _copy.Values) t.Dispose();
            _copy = null;
        }
    }

    /// <summary>Samples per second over the last few steps: steadier than one step, quicker than the run average.</summary>
    sealed class RateWindow(int size)
    {
        readonly Queue<(int N, double Seconds)> _q = new();
        int _n; double _s;
        public void Add(int n, double seconds)
        {
            _q.Enqueue((n, seconds)); _n += n; _s += seconds;
            if (_q.Count > size) { var (on, os) = _q.Dequeue(); _n -= on; _s -= os; }
        }
        public double Rate => _s > 0 ? _n / _s : 0;
    }
}

/// <summary>Loads starting weights into a freshly built model (official or house weights). Absent: random init.</summary>
public interface IWeightsInitializer
{
    /// <returns>What loading did, for the run's log and card (the importer's messages); empty when nothing was loaded.</returns>
    IReadOnlyList<string> Initialise(ZooModel model, TrainingJob job);
}
