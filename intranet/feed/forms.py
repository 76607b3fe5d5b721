"""Forms of the feed."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import BooleanField, HiddenField, TextAreaField
from wtforms.validators import Length

from intranet.core.audience_field import AudienceField
from intranet.feed.models import MAX_BODY, MAX_COMMENT

TOO_LONG = _l("Ce texte est trop long (%(max)d caractères au plus).")


class PostForm(FlaskForm):
    body = TextAreaField(_l("Votre message"), validators=[Length(max=MAX_BODY, message=TOO_LONG)])
    images = MultipleFileField(_l("Images"))
    files = MultipleFileField(_l("Fichiers joints"))
    audience = AudienceField()
    # Set when the author has read that some people they mention will not see the post.
    confirm_mentions = BooleanField(_l("Publier quand même"))


class EditPostForm(FlaskForm):
    body = TextAreaField(_l("Votre message"), validators=[Length(max=MAX_BODY, message=TOO_LONG)])


class CommentForm(FlaskForm):
    body = TextAreaField(_l("Votre commentaire"), validators=[Length(max=MAX_COMMENT, message=TOO_LONG)])
    parent_id = HiddenField()


class HideForm(FlaskForm):
    reason = TextAreaField(_l("Raison (l'auteur la recevra)"), validators=[Length(max=500, message=TOO_LONG)])
