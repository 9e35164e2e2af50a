using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ModelZoo.Infrastructure.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class StrategiesMetricsResume : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<Guid>(
                name: "BaselineForId",
                table: "runs",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<double>(
                name: "BestValAccuracy",
                table: "runs",
                type: "REAL",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "LabelsPerClass",
                table: "runs",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "Resumes",
                table: "runs",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<Guid>(
                name: "SweepId",
                table: "runs",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "TargetDatasetId",
                table: "runs",
                type: "TEXT",
                maxLength: 200,
                nullable: true);

            migrationBuilder.AddColumn<double>(
                name: "TestAccuracy",
                table: "runs",
                type: "REAL",
                nullable: true);

            migrationBuilder.AddColumn<double>(
                name: "TestEce",
                table: "runs",
                type: "REAL",
                nullable: true);

            migrationBuilder.AddColumn<double>(
                name: "TestMacroF1",
                table: "runs",
                type: "REAL",
                nullable: true);

            migrationBuilder.AddColumn<double>(
                name: "TrainSeconds",
                table: "runs",
                type: "REAL",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "TrainableParameters",
                table: "runs",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "run_metrics",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    RunId = table.Column<Guid>(type: "TEXT", nullable: false),
                    Seq = table.Column<long>(type: "INTEGER", nullable: false),
                    Name = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Step = table.Column<int>(type: "INTEGER", nullable: true),
                    Epoch = table.Column<int>(type: "INTEGER", nullable: false),
                    Elapsed = table.Column<double>(type: "REAL", nullable: true),
                    Value = table.Column<double>(type: "REAL", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_run_metrics", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "sweeps",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    ModelId = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    DatasetId = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    RequestJson = table.Column<string>(type: "TEXT", nullable: false),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_sweeps", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_runs_BaselineForId",
                table: "runs",
                column: "BaselineForId");

            migrationBuilder.CreateIndex(
                name: "IX_runs_SweepId",
                table: "runs",
                column: "SweepId");

            migrationBuilder.CreateIndex(
                name: "IX_run_metrics_RunId_Name_Seq",
                table: "run_metrics",
                columns: new[] { "RunId", "Name", "Seq" });

            migrationBuilder.CreateIndex(
                name: "IX_run_metrics_RunId_Seq",
                table: "run_metrics",
                columns: new[] { "RunId", "Seq" });

            // Runs stored before strategies had ids named them by an enum member; requests keep the old name, which
            // the catalogue still resolves (aliases), and the column gets the id. The typed summary is filled from
            // the stored results, so older runs sort with the new ones.
            migrationBuilder.Sql("UPDATE runs SET Strategy = 'feature-extraction' WHERE Strategy = 'FeatureExtraction';");
            migrationBuilder.Sql("UPDATE runs SET Strategy = 'partial-fine-tune' WHERE Strategy = 'PartialFineTune';");
            migrationBuilder.Sql("UPDATE runs SET Strategy = 'full-fine-tune' WHERE Strategy = 'FullFineTune';");
            if (migrationBuilder.ActiveProvider == "Microsoft.EntityFrameworkCore.Sqlite")
                migrationBuilder.Sql(
                    "UPDATE runs SET TestAccuracy = json_extract(ResultJson, '$.testAccuracy'), " +
                    "BestValAccuracy = json_extract(ResultJson, '$.bestValAccuracy'), TrainSeconds = json_extract(ResultJson, '$.trainSeconds'), " +
                    "TrainableParameters = json_extract(ResultJson, '$.trainableParameters') WHERE ResultJson IS NOT NULL;");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "run_metrics");

            migrationBuilder.DropTable(
                name: "sweeps");

            migrationBuilder.DropIndex(
                name: "IX_runs_BaselineForId",
                table: "runs");

            migrationBuilder.DropIndex(
                name: "IX_runs_SweepId",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "BaselineForId",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "BestValAccuracy",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "LabelsPerClass",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "Resumes",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "SweepId",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "TargetDatasetId",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "TestAccuracy",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "TestEce",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "TestMacroF1",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "TrainSeconds",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "TrainableParameters",
                table: "runs");
        }
    }
}
