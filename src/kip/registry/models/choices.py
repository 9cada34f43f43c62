"""Coded values used across the registry; names follow the study's tables."""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    NURSE = "nurse", "Nurse"
    PHYSICIAN = "physician", "Physician"
    RESEARCHER = "researcher", "Researcher"
    ADMIN = "admin", "Administrator"


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"


class Etiology(models.TextChoices):
    TUMOR_COMPRESSION = "tumor_compression", "Tumor compression"
    CIPN = "cipn", "Chemotherapy-induced peripheral neuropathy"
    POSTSURGICAL = "postsurgical", "Postsurgical"
    POSTRADIATION = "postradiation", "Postradiation"


class PrimaryCancer(models.TextChoices):
    """Table 1's list of primary cancers, plus other."""

    GERM_CELL = "germ_cell", "Germ cell tumor"
    GYNECOLOGICAL = "gynecological", "Gynecological"
    SKIN = "skin", "Skin"
    BREAST = "breast", "Breast"
    COLORECTAL = "colorectal", "Colorectal"
    LYMPHOMA_LEUKEMIA = "lymphoma_leukemia", "Lymphoma/leukemia"
    PROSTATE = "prostate", "Prostate"
    LUNG = "lung", "Lung"
    ESOPHAGEAL = "esophageal", "Esophageal"
    MULTIPLE_MYELOMA = "multiple_myeloma", "Multiple myeloma"
    KIDNEY = "kidney", "Kidney"
    PITUITARY = "pituitary", "Pituitary"
    PANCREAS = "pancreas", "Pancreas"
    NERVE_SHEATH = "nerve_sheath", "Nerve sheath"
    BONE_SOFT_TISSUE = "bone_soft_tissue", "Bone/soft tissue"
    HEAD_AND_NECK = "head_and_neck", "Head and neck"
    OTHER = "other", "Other"


class CompressionLocation(models.TextChoices):
    CRANIAL_NERVE = "cranial_nerve", "Cranial nerve"
    NERVE_ROOTS = "nerve_roots", "Nerve roots"
    PLEXUS = "plexus", "Plexus"


class SurgeryType(models.TextChoices):
    POST_THORACOTOMY = "post_thoracotomy", "Post-thoracotomy syndrome"
    POSTMASTECTOMY = "postmastectomy", "Postmastectomy syndrome"
    POST_NEPHRECTOMY = "post_nephrectomy", "Postsurgical pain after nephrectomy"
    OTHER = "other", "Other"


class RadiationSite(models.TextChoices):
    HEAD_AND_NECK = "head_and_neck", "Head and neck"
    SPINE = "spine", "Spine"
    OTHER = "other", "Other"


class AdjuvantClass(models.TextChoices):
    OPIOID = "opioid", "Opioid"
    SNRI = "snri", "SNRI"
    TCA = "tca", "TCA"
    GABAPENTINOID = "gabapentinoid", "Gabapentinoid"
    OTHER_ANTICONVULSANT = "other_anticonvulsant", "Other anticonvulsant"
    TOPICAL = "topical", "Topical"
    CANNABIS = "cannabis", "Cannabis"
    OTHER = "other", "Other"


class DoseChange(models.TextChoices):
    STARTED = "started", "Started"
    INCREASED = "increased", "Increased"
    DECREASED = "decreased", "Decreased"
    STOPPED = "stopped", "Stopped"


class EndReason(models.TextChoices):
    ADVERSE_EVENTS = "adverse_events", "Adverse events"
    INADEQUATE_RELIEF = "inadequate_relief", "Inadequate relief"
    PATIENT_CHOICE = "patient_choice", "Patient choice"
    SOCIAL_TRANSPORT = "social_transport", "Social circumstances / transport"
    DEATH = "death", "Death"
    OTHER = "other", "Other"


class InfusionStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    CHECKED_IN = "checked_in", "Checked in"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    STOPPED = "stopped", "Stopped early"
    CANCELLED = "cancelled", "Cancelled"
    POSTPONED = "postponed", "Postponed"


class CheckStatus(models.TextChoices):
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"


class RateClassification(models.TextChoices):
    OK = "ok", "Within protocol"
    SOFT_LIMIT = "soft_limit", "Soft-limit deviation"


class DoseKind(models.TextChoices):
    PREMEDICATION = "premedication", "Premedication"
    PRN = "prn", "As needed (PRN)"


class Route(models.TextChoices):
    ORAL = "oral", "Oral"
    IV = "iv", "IV"
    SUBLINGUAL = "sublingual", "Sublingual"


class AdverseEventCategory(models.TextChoices):
    """Table 5's categories, plus other."""

    ANAPHYLAXIS = "anaphylaxis", "Anaphylaxis"
    CARDIOVASCULAR = "cardiovascular", "Cardiovascular"
    GASTROINTESTINAL = "gastrointestinal", "Gastrointestinal"
    MUSCULAR = "muscular", "Muscular"
    NEUROLOGICAL = "neurological", "Neurological"
    OPHTHALMOLOGIC = "ophthalmologic", "Ophthalmologic"
    PSYCHIATRIC = "psychiatric", "Psychiatric"
    RESPIRATORY = "respiratory", "Respiratory"
    SKIN = "skin", "Skin"
    OTHER = "other", "Other"


class Resolution(models.TextChoices):
    ONGOING = "ongoing", "Ongoing"
    SELF_RESOLVED = "self_resolved", "Self-resolved"
    PRN_MEDICATION = "prn_medication", "Resolved with PRN medication"
    RATE_REDUCED = "rate_reduced", "Resolved after rate reduced"
    STOPPED = "stopped", "Resolved after infusion stopped"


class PhysicianDecision(models.TextChoices):
    PRN_MEDICATION = "prn_medication", "As-needed medication"
    CONTINUE = "continue", "Continue"
    REDUCE = "reduce", "Reduce"
    STOP = "stop", "Stop"


class FollowUpKind(models.TextChoices):
    CALL_24H = "call_24h", "24-hour call"
    CLINIC_VISIT = "clinic_visit", "Clinic visit"
    INTERRUPTION_CALL = "interruption_call", "Service-interruption call"


class FollowUpStatus(models.TextChoices):
    DUE = "due", "Due"
    DONE = "done", "Done"
    MISSED = "missed", "Missed"


class MedicationChange(models.TextChoices):
    NONE = "none", "No change"
    OPIOID_INCREASE = "opioid_increase", "Opioids increased"
    GABAPENTINOID_INCREASE = "gabapentinoid_increase", "Gabapentinoids increased"
    CANNABIS_START = "cannabis_start", "Cannabis started"
    OTHER = "other", "Other change"


class PatientChoice(models.TextChoices):
    """What the patient says about going on, at a follow-up (blank: not asked or not said)."""

    CONTINUE = "continue", "Wants to continue"
    STOP = "stop", "Wants to stop"


class DeviationStatus(models.TextChoices):
    PENDING = "pending", "Awaiting a physician"
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"


class Continuation(models.TextChoices):
    CONTINUE = "continue", "Continue"
    STOP = "stop", "Stop"
    PENDING = "pending", "Pending"
