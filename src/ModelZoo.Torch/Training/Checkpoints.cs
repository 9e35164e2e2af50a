using ModelZoo.Core.Training;
using ModelZoo.Torch.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Training;

/// <summary>
/// Writes and reads a run's checkpoint: every module's state (the model under <c>model.</c>, a strategy's extra
/// modules under <c>extra.&lt;name&gt;.</c>, buffers included) as F32 safetensors, the optimiser's state in
/// TorchSharp's format, and the loop's <see cref="CheckpointState"/>. A save fills a fresh folder and swaps it in
/// with two renames, so a crash at any point leaves either the previous checkpoint or the new one, never a mix.
/// </summary>
public static class Checkpoints
{
    public static void Save(string runDir, CheckpointState state, IReadOnlyList<(string Name, nn.Module Module)> modules, TorchSharp.Modules.OptimizerHelper? optimizer)
    {
        var dir = Path.Combine(runDir, CheckpointFiles.Directory);
        var fresh = dir + ".new";
        var old = dir + ".old";
        if (Directory.Exists(fresh)) Directory.Delete(fresh, recursive: true);
        Directory.CreateDirectory(fresh);
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, module) in modules)
            foreach (var (key, t) in module.state_dict()) tensors[$"{name}.{key}"] = t;
        SafeTensors.Save(Path.Combine(fresh, CheckpointFiles.Tensors), tensors, ScalarType.Float32);
        if (optimizer is not null)
        {
            using var fs = new FileStream(Path.Combine(fresh, CheckpointFiles.Optimizer), FileMode.CreateNew);
            using var w = new BinaryWriter(fs);
            optimizer.save_state_dict(w);
            w.Flush();
            fs.Flush(flushToDisk: true);
        }
        // The state last: a folder without it is not a checkpoint.
        File.WriteAllText(Path.Combine(fresh, CheckpointFiles.State), state.ToJson());
        if (Directory.Exists(old)) Directory.Delete(old, recursive: true);
        if (Directory.Exists(dir)) Directory.Move(dir, old);
        Directory.Move(fresh, dir);
        if (Directory.Exists(old)) Directory.Delete(old, recursive: true);
    }

    /// <summary>Restores the modules and the optimiser in place and returns the loop's state.</summary>
    /// <exception cref="CheckpointUnreadableException">Missing, truncated or corrupt files, or state that does not
    /// fit the run's modules (another strategy, architecture or class count).</exception>
    public static CheckpointState Load(string runDir, IReadOnlyList<(string Name, nn.Module Module)> modules, TorchSharp.Modules.OptimizerHelper? optimizer)
    {
        var dir = CheckpointFiles.Find(runDir) ?? throw new CheckpointUnreadableException($"There is no checkpoint in {runDir}.");
        var state = CheckpointState.Read(dir);
        var tensorsFile = Path.Combine(dir, CheckpointFiles.Tensors);
        Dictionary<string, Tensor> tensors;
        try { tensors = SafeTensors.Load(tensorsFile); }
        catch (Exception e) when (e is WeightsFormatException or IOException)
        {
            throw new CheckpointUnreadableException($"{tensorsFile} cannot be read: {e.Message}", e);
        }
        try
        {
            foreach (var (name, module) in modules)
            {
                var prefix = name + ".";
                var own = tensors.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal))
                    .ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value, StringComparer.Ordinal);
                var expected = module.state_dict();
                var missing = expected.Keys.Where(k => !own.ContainsKey(k)).ToList();
                var unexpected = own.Keys.Where(k => !expected.ContainsKey(k)).ToList();
                if (missing.Count > 0 || unexpected.Count > 0)
                    throw new CheckpointUnreadableException($"{tensorsFile} does not fit the run's {name}: " +
                        $"{missing.Count} tensor(s) missing{(missing.Count > 0 ? $" ({missing[0]}…)" : "")}, {unexpected.Count} unexpected.");
                using var _ = no_grad();
                foreach (var (key, target) in expected)
                {
                    var source = own[key];
                    if (!source.shape.SequenceEqual(target.shape))
                        throw new CheckpointUnreadableException($"{tensorsFile}: {name}.{key} has shape [{string.Join(", ", source.shape)}], the run's [{string.Join(", ", target.shape)}].");
                    target.copy_(source);
                }
            }
        }
        finally { TensorDtypes.DisposeAll(tensors.Values); }

        if (optimizer is not null)
        {
            var file = Path.Combine(dir, CheckpointFiles.Optimizer);
            if (!File.Exists(file)) throw new CheckpointUnreadableException($"{file} is missing.");
            try
            {
                using var r = new BinaryReader(File.OpenRead(file));
                optimizer.load_state_dict(r);
            }
            catch (Exception e) when (e is EndOfStreamException or IOException or ArgumentException or InvalidDataException or FormatException)
            {
                throw new CheckpointUnreadableException($"{file} cannot be read: {e.Message}", e);
            }
        }
        return state;
    }

    /// <summary>Saves a model's state (the best epoch's, to evaluate at the end); temp file then rename.</summary>
    public static void SaveModel(string path, nn.Module model) => SafeTensors.Save(path, model.state_dict(), ScalarType.Float32);

    /// <summary>Loads a state written by <see cref="SaveModel"/> into the same module.</summary>
    /// <exception cref="IOException">The file cannot be read back or does not fit the module. Not a
    /// <see cref="CheckpointUnreadableException"/>: this is the end of a run, not a resume.</exception>
    public static void LoadModel(string path, nn.Module model)
    {
        Dictionary<string, Tensor> tensors;
        try { tensors = SafeTensors.Load(path); }
        catch (WeightsFormatException e)
        {
            throw new IOException($"The best epoch's weights could not be read back: {e.Message}", e);
        }
        try
        {
            using var _ = no_grad();
            foreach (var (key, target) in model.state_dict())
            {
                if (!tensors.TryGetValue(key, out var source) || !source.shape.SequenceEqual(target.shape))
                    throw new IOException($"The best epoch's weights {path} do not hold the run's {key}.");
                target.copy_(source);
            }
        }
        finally { TensorDtypes.DisposeAll(tensors.Values); }
    }
}
