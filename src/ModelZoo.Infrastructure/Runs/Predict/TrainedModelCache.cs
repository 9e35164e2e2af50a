using ModelZoo.Torch.Predict;

namespace ModelZoo.Infrastructure.Runs.Predict;

/// <summary>
/// The last few trained models "Try it" loaded, least recently used first out: a ResNet-50 takes about 100 MB and
/// loading one costs a second or more, while a user tries image after image on the same run. An evicted model is
/// disposed at once (its native memory is not the garbage collector's to judge). Not a lock: callers use a model only
/// while holding the gate of <see cref="RunPredictor"/>, which is also the only caller that loads and so evicts.
/// </summary>
public sealed class TrainedModelCache(int capacity) : IDisposable
{
    readonly LinkedList<(string Key, TrainedModel Model)> _entries = new();
    bool _disposed;

    public int Capacity { get; } = capacity >= 1 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "At least one model.");
    public int Count => _entries.Count;
    public bool Contains(string key) => _entries.Any(e => e.Key == key);

    /// <summary>The model under <paramref name="key"/>, loaded by <paramref name="load"/> when absent; the least
    /// recently used model is disposed when the cache is then over capacity.</summary>
    public TrainedModel GetOrLoad(string key, Func<TrainedModel> load)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        for (var node = _entries.First; node is not null; node = node.Next)
            if (node.Value.Key == key)
            {
                _entries.Remove(node);
                _entries.AddFirst(node);
                return node.Value.Model;
            }
        var model = load();
        _entries.AddFirst((key, model));
        while (_entries.Count > Capacity)
        {
            var last = _entries.Last!;
            _entries.RemoveLast();
            last.Value.Model.Dispose();
        }
        return model;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var (_, model) in _entries) model.Dispose();
        _entries.Clear();
    }
}
