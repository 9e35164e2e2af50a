using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Datasets;

namespace ModelZoo.Infrastructure.Runs.Predict;

/// <summary>A run's test split as its evaluation saw it: the dataset it was <see cref="Tested"/> on (for domain
/// adaptation the aligned target), the test indices into it, and <see cref="Subset"/>: the test examples alone, in
/// test-split order.</summary>
public sealed record RunTestSplit(LoadedDataset Tested, LoadedDataset Subset, int[] Test)
{
    /// <summary>The labels of <see cref="Subset"/>, in order.</summary>
    public int[] Labels => Subset.Images?.Labels ?? Subset.Texts!.Labels;

    /// <summary>The run's test split, or why it cannot be loaded (in words). The mistakes gallery and the compression
    /// measurements share it, so both see exactly the examples the run's confusion matrix counts.</summary>
    public static (RunTestSplit? Split, string? Problem) Load(RunView run, DatasetStore datasets)
    {
        LoadedDataset tested;
        try
        {
            tested = datasets.Load(run.DatasetId);
            if (run.Request.TargetDatasetId is { } targetId) tested = DomainAlignment.Align(tested, datasets.Load(targetId)).Target;
        }
        catch (Exception e) when (e is KeyNotFoundException or FileNotFoundException or DirectoryNotFoundException or InvalidOperationException)
        {
            return (null, $"Run {run.Id}'s test data ('{run.Request.TargetDatasetId ?? run.DatasetId}') cannot be loaded: {e.Message}");
        }
        var test = tested.Split.Test;
        return (new RunTestSplit(tested, TestOnly(tested, test, datasets), test), null);
    }

    /// <summary>The test examples alone, in test-split order (index k is the k-th test example): the evaluation
    /// transform works image by image, so this gives the same inputs without resizing the training images.</summary>
    static LoadedDataset TestOnly(LoadedDataset data, int[] test, DatasetStore datasets)
    {
        var split = new SplitIndices(0, [], [], Enumerable.Range(0, test.Length).ToArray());
        if (data.Texts is { } texts)
            return new LoadedDataset(data.Info, null, split)
            {
                Texts = new TextSet { Texts = test.Select(i => texts.Texts[i]).ToList(), Labels = test.Select(i => texts.Labels[i]).ToArray(), ClassNames = texts.ClassNames },
            };
        var images = data.Images!;
        int per = images.ImageBytes;
        var pixels = new byte[(long)per * test.Length];
        if (images.Streamed)
        {
            var read = datasets.ReadImages(data.Info.Id, test);
            for (int k = 0; k < test.Length; k++) read[k].CopyTo(pixels, (long)k * per);
        }
        else
            for (int k = 0; k < test.Length; k++) Array.Copy(images.Pixels, (long)test[k] * per, pixels, (long)k * per, per);
        return new LoadedDataset(data.Info, new ImageSet
        {
            Width = images.Width, Height = images.Height, Channels = images.Channels, Pixels = pixels,
            Labels = test.Select(i => images.Labels[i]).ToArray(), ClassNames = images.ClassNames,
        }, split);
    }

}
