using ModelZoo.Torch.Pipeline;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Text;
using ModelZoo.Core.Training;
using ModelZoo.Torch.Models;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Training;

/// <summary>Picks the batch source a job needs from the model's modality, and refuses data the model cannot read.</summary>
public static class BatchSources
{
    /// <param name="data">The job's labelled dataset, or its target domain.</param>
    public static IBatchSource For(TrainingJob job, LoadedDataset data, Modality modality, ZooModel model, Device device, PipelineOptions pipelineOptions, CancellationToken ct)
    {
        var h = job.Request.HyperParameters;
        if (modality == Modality.Image)
        {
            var images = data.Images ?? throw new NotSupportedException(
                $"Model '{job.Model.Id}' reads images, but dataset '{data.Info.Id}' holds {data.Info.Modality.ToString().ToLowerInvariant()}s.");
            return ImagePipeline.Create(images, data.Info, job.Model.Preprocessing, h.ImageSize, device, pipelineOptions, ct, h.Augmentation, job.MeanImagePath);
        }

        return Texts(job, data, model, device);
    }

    /// <summary>
    /// The batch source of a few inputs to predict, prepared exactly as the run's evaluation batches: images through
    /// the run's transform (<see cref="ImagePipeline.InMemory"/>, no cache file), texts through the run's tokenizer and
    /// length. <paramref name="data"/> holds the inputs already in the dataset's stored form.
    /// </summary>
    public static IBatchSource ForPrediction(TrainingJob job, LoadedDataset data, Modality modality, ZooModel model, Device device)
    {
        if (modality == Modality.Text) return Texts(job, data, model, device);
        var images = data.Images ?? throw new NotSupportedException($"Model '{job.Model.Id}' reads images, but the input is not one.");
        return ImagePipeline.InMemory(images, data.Info, job.Model.Preprocessing, job.Request.HyperParameters.ImageSize, device, job.MeanImagePath);
    }

    static TextBatcher Texts(TrainingJob job, LoadedDataset data, ZooModel model, Device device)
    {
        var h = job.Request.HyperParameters;
        var texts = data.Texts ?? throw new NotSupportedException(
            $"Model '{job.Model.Id}' reads texts, but dataset '{data.Info.Id}' holds {data.Info.Modality.ToString().ToLowerInvariant()}s.");
        var files = job.Text ?? throw new InvalidOperationException(
            $"Model '{job.Model.Id}' reads texts but the run has no vocabulary: its manifest needs a text section and the files it names.");
        var tokenizer = WordPieceTokenizer.FromVocabFile(files.VocabPath, files.Lowercase, files.StripAccents);
        var maxLength = Math.Min(h.MaxTokens, files.MaxLength);
        if (model is Bert bert)
        {
            // Ids past the embedding table would fail deep inside the first forward; say which files disagree.
            if (tokenizer.VocabSize > bert.Config.VocabSize)
                throw new InvalidOperationException(
                    $"{files.VocabPath} has {tokenizer.VocabSize} tokens but the model's config has vocab_size {bert.Config.VocabSize}: the vocabulary does not belong to this model.");
            maxLength = Math.Min(maxLength, bert.Config.MaxPositionEmbeddings);
        }
        return new TextBatcher(texts, tokenizer, maxLength, device);
    }
}
